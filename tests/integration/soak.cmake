# The 2-minute variant of the soak test (bench/soak.sh, 30 minutes, is not in
# CI): a live WAL writer, the daemon to Kafka, one fault of each kind (daemon
# kill -9, broker kill -9 and restart, broker SIGSTOP, a stalled path to the
# broker); fails when a committed change is missing, RSS doubles or lag does
# not recover. It runs its own broker on 127.0.0.1:19192-19195, so it never
# touches the suite's broker (the jars come from scripts/services/kafka.sh).
add_test(NAME soak_short
  COMMAND ${CMAKE_COMMAND} -E env SOAK_PROFILE=short SOAK_OUT=${PROJECT_BINARY_DIR}/soak-short
          bash ${PROJECT_SOURCE_DIR}/bench/soak.sh ${PROJECT_BINARY_DIR})
set_tests_properties(soak_short PROPERTIES LABELS "integration;kafka;soak" TIMEOUT 900)
