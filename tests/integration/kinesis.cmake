# Tests of the Kinesis sink against kinesis-mock (npm package kinesis-local)
# on 127.0.0.1 (HTTPS 14567, HTTP 14568) and the fault-injecting test proxy
# (HTTP 14569), started and stopped by scripts/services/kinesis.sh through the
# ctest fixture kinesis_service. The tests REQUIRE the fixture: if the service
# cannot start, the setup test fails with the reason and these tests fail.
#
#   ctest -L kinesis        # the whole suite, service started and stopped
set(HELIOSDB_KINESIS_SCRIPT ${PROJECT_SOURCE_DIR}/scripts/services/kinesis.sh)

add_test(NAME kinesis_service_start COMMAND ${HELIOSDB_KINESIS_SCRIPT} start)
set_tests_properties(kinesis_service_start PROPERTIES
  FIXTURES_SETUP kinesis_service LABELS "integration;kinesis" TIMEOUT 300
  RESOURCE_LOCK kinesis_service_process)
add_test(NAME kinesis_service_stop COMMAND ${HELIOSDB_KINESIS_SCRIPT} stop)
set_tests_properties(kinesis_service_stop PROPERTIES
  FIXTURES_CLEANUP kinesis_service LABELS "integration;kinesis" TIMEOUT 60
  RESOURCE_LOCK kinesis_service_process)

file(GLOB HELIOSDB_KINESIS_IT_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/kinesis_*_test.cc)
foreach(src ${HELIOSDB_KINESIS_IT_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(${name} PRIVATE heliosdb_cdc_testing GTest::gtest_main
    OpenSSL::Crypto CURL::libcurl spdlog::spdlog fmt::fmt)
  add_dependencies(${name} heliosdb-cdc)
  # One ctest test per executable (its gtest cases run in sequence), so the
  # properties below apply as written (gtest_discover_tests would split the
  # LABELS list). The fault proxy's state is global: Kinesis tests never overlap.
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES
    LABELS "integration;kinesis"
    TIMEOUT 600
    FIXTURES_REQUIRED kinesis_service
    RESOURCE_LOCK kinesis_service_process)
endforeach()
