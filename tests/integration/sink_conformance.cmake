# The sink conformance suite: the same properties checked against every sink
# (file, stdout, Kafka on the real broker, Kinesis on kinesis-mock, the
# example's custom sink), SIGKILL mid-stream included (the custom sink then
# runs in conformance_custom_sink, a program embedding the library). It REQUIRES both service fixtures of kafka.cmake and
# kinesis.cmake, and takes both locks, so it never overlaps a Kafka or a
# Kinesis test.
#
#   ctest -L conformance
add_executable(conformance_custom_sink ${CMAKE_CURRENT_LIST_DIR}/conformance_custom_sink.cc)
target_include_directories(conformance_custom_sink PRIVATE ${PROJECT_SOURCE_DIR}/examples)
target_link_libraries(conformance_custom_sink PRIVATE heliosdb_cdc)

add_executable(sink_conformance_test ${CMAKE_CURRENT_LIST_DIR}/sink_conformance_test.cc)
target_include_directories(sink_conformance_test PRIVATE ${CMAKE_CURRENT_LIST_DIR}
                                                         ${PROJECT_SOURCE_DIR}/examples)
target_link_libraries(sink_conformance_test PRIVATE heliosdb_cdc_testing GTest::gtest_main
  PkgConfig::RDKAFKA OpenSSL::Crypto CURL::libcurl spdlog::spdlog fmt::fmt)
target_compile_definitions(sink_conformance_test PRIVATE
  CONFORMANCE_CUSTOM_SINK="$<TARGET_FILE:conformance_custom_sink>")
add_dependencies(sink_conformance_test heliosdb-cdc conformance_custom_sink)
# One ctest test for the executable, so the list-valued properties below stay
# lists (gtest_discover_tests would flatten them).
add_test(NAME sink_conformance_test COMMAND sink_conformance_test)
set_tests_properties(sink_conformance_test PROPERTIES
  LABELS "integration;conformance;kafka;kinesis"
  TIMEOUT 900
  FIXTURES_REQUIRED "kafka_broker;kinesis_service"
  RESOURCE_LOCK "kafka_broker_process;kinesis_service_process"
  ENVIRONMENT "HELIOSDB_KAFKA_BROKERS=127.0.0.1:19092;HELIOSDB_KAFKA_SASL_BROKERS=127.0.0.1:19094;HELIOSDB_KAFKA_SCRIPT=${HELIOSDB_KAFKA_SCRIPT}")
