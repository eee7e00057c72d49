# Metrics suite: the daemon's Prometheus endpoint end to end, and a real
# Prometheus server (Debian package `prometheus`) scraping it.
#
#   ctest -L metrics
#
# metrics_prometheus_test needs the ctest fixture prometheus_server, started
# and stopped by scripts/services/prometheus.sh (127.0.0.1:19090, scraping
# 127.0.0.1:19464). If Prometheus cannot start, the setup test fails with the
# reason and the dependent test fails too (it never skips).
# Ports used by these tests: 19464 (scraped), 19465-19467 (metrics_e2e_test).
set(HELIOSDB_PROMETHEUS_SCRIPT ${PROJECT_SOURCE_DIR}/scripts/services/prometheus.sh)
set(HELIOSDB_PROMETHEUS_ENV
  "PROMETHEUS_PORT=19090;PROMETHEUS_TARGETS=127.0.0.1:19464;PROMETHEUS_SCRAPE_INTERVAL=1s")

add_test(NAME prometheus_server_start COMMAND ${HELIOSDB_PROMETHEUS_SCRIPT} start)
set_tests_properties(prometheus_server_start PROPERTIES
  FIXTURES_SETUP prometheus_server LABELS "integration;metrics" TIMEOUT 120
  ENVIRONMENT "${HELIOSDB_PROMETHEUS_ENV}" RESOURCE_LOCK prometheus_process)
add_test(NAME prometheus_server_stop COMMAND ${HELIOSDB_PROMETHEUS_SCRIPT} stop)
set_tests_properties(prometheus_server_stop PROPERTIES
  FIXTURES_CLEANUP prometheus_server LABELS "integration;metrics" TIMEOUT 60
  ENVIRONMENT "${HELIOSDB_PROMETHEUS_ENV}" RESOURCE_LOCK prometheus_process)

foreach(name metrics_e2e_test metrics_prometheus_test)
  add_executable(${name} ${CMAKE_CURRENT_LIST_DIR}/${name}.cc)
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(${name} PRIVATE heliosdb_cdc_testing GTest::gtest_main CURL::libcurl)
  add_dependencies(${name} heliosdb-cdc)
endforeach()

# The daemon runs as a separate process on fixed ports: run these tests one
# at a time (RESOURCE_LOCK), never in parallel with each other.
# gtest_discover_tests (CMake 3.25) flattens list-valued PROPERTIES, so
# LABELS "integration;metrics" would swallow the properties after it; the
# labels are set by an include file that runs after discovery instead.
gtest_discover_tests(metrics_e2e_test DISCOVERY_TIMEOUT 60
  PROPERTIES TIMEOUT 300 RESOURCE_LOCK metrics_ports)
gtest_discover_tests(metrics_prometheus_test DISCOVERY_TIMEOUT 60
  PROPERTIES TIMEOUT 300 RESOURCE_LOCK metrics_ports FIXTURES_REQUIRED prometheus_server)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/metrics_test_labels.cmake
  "foreach(t IN LISTS metrics_e2e_test_TESTS metrics_prometheus_test_TESTS)\n"
  "  set_tests_properties(\"\${t}\" PROPERTIES LABELS \"integration;metrics\")\n"
  "endforeach()\n")
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES
  ${CMAKE_CURRENT_BINARY_DIR}/metrics_test_labels.cmake)
