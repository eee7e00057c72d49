# Tests against a real Apache Kafka broker (KRaft, single node) on
# 127.0.0.1:19092 (controller 19093, SASL_PLAINTEXT 19094), started and
# stopped by scripts/services/kafka.sh through the ctest fixture kafka_broker.
# The tests REQUIRE the fixture: if the broker cannot start, the setup test
# fails with the reason and the Kafka tests fail (they never skip).
#
#   ctest -L kafka          # the whole suite, broker started and stopped
set(HELIOSDB_KAFKA_SCRIPT ${PROJECT_SOURCE_DIR}/scripts/services/kafka.sh)

# acquire/release count users, so one suite's cleanup does not stop the broker
# under a suite of another build dir running at the same time, nor a broker
# that was running before the first suite acquired it.
add_test(NAME kafka_broker_start COMMAND ${HELIOSDB_KAFKA_SCRIPT} acquire)
set_tests_properties(kafka_broker_start PROPERTIES
  FIXTURES_SETUP kafka_broker LABELS "integration;kafka" TIMEOUT 600
  RESOURCE_LOCK kafka_broker_process)
add_test(NAME kafka_broker_stop COMMAND ${HELIOSDB_KAFKA_SCRIPT} release)
set_tests_properties(kafka_broker_stop PROPERTIES
  FIXTURES_CLEANUP kafka_broker LABELS "integration;kafka" TIMEOUT 120
  RESOURCE_LOCK kafka_broker_process)

file(GLOB HELIOSDB_KAFKA_IT_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/kafka_*_test.cc)
foreach(src ${HELIOSDB_KAFKA_IT_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(${name} PRIVATE heliosdb_cdc_testing GTest::gtest_main
    PkgConfig::RDKAFKA spdlog::spdlog fmt::fmt)
  add_dependencies(${name} heliosdb-cdc)
  # Tests that kill/restart the broker must not overlap with the others:
  # RESOURCE_LOCK serialises every Kafka test. gtest_discover_tests (CMake
  # 3.25) flattens list-valued PROPERTIES, so the list properties are set by
  # a script ctest runs after the discovered tests.
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 TEST_LIST ${name}_TESTS
    PROPERTIES TIMEOUT 600)
  set(_props ${CMAKE_CURRENT_BINARY_DIR}/${name}_properties.cmake)
  file(WRITE ${_props}
    "if(${name}_TESTS)\n"
    "  set_tests_properties(\${${name}_TESTS} PROPERTIES\n"
    "    LABELS \"integration;kafka\" FIXTURES_REQUIRED kafka_broker\n"
    "    RESOURCE_LOCK kafka_broker_process\n"
    "    ENVIRONMENT \"HELIOSDB_KAFKA_BROKERS=127.0.0.1:19092;HELIOSDB_KAFKA_SASL_BROKERS=127.0.0.1:19094;HELIOSDB_KAFKA_SCRIPT=${HELIOSDB_KAFKA_SCRIPT}\")\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${_props})
endforeach()
