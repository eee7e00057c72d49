# Tests against a real PostgreSQL 15 server on 127.0.0.1:15432 (wal_level
# logical, scram-sha-256 over TCP), started and stopped by
# scripts/services/postgres.sh through the ctest fixture postgres_server.
# The tests REQUIRE the fixture: if the server cannot start, the setup test
# fails with the reason and the PostgreSQL tests fail (they never skip).
# Helpers: tests/integration/postgres_test_util.h.
#
#   ctest -L postgres       # the whole suite, server started and stopped
set(HELIOSDB_PG_SCRIPT ${PROJECT_SOURCE_DIR}/scripts/services/postgres.sh)
# Another port lets two checkouts run their suites at once (each has its own
# server under its .cache/postgres).
set(HELIOSDB_TEST_PG_PORT 15432 CACHE STRING "Port of the test PostgreSQL server")

# acquire/release count users, so one suite's cleanup does not stop the server
# under a suite of another build dir running at the same time, nor a server
# that was running before the first suite acquired it.
add_test(NAME postgres_server_start
  COMMAND ${CMAKE_COMMAND} -E env PG_PORT=${HELIOSDB_TEST_PG_PORT} ${HELIOSDB_PG_SCRIPT} acquire)
set_tests_properties(postgres_server_start PROPERTIES
  FIXTURES_SETUP postgres_server LABELS "integration;postgres" TIMEOUT 300
  RESOURCE_LOCK postgres_server_process)
add_test(NAME postgres_server_stop
  COMMAND ${CMAKE_COMMAND} -E env PG_PORT=${HELIOSDB_TEST_PG_PORT} ${HELIOSDB_PG_SCRIPT} release)
set_tests_properties(postgres_server_stop PROPERTIES
  FIXTURES_CLEANUP postgres_server LABELS "integration;postgres" TIMEOUT 120
  RESOURCE_LOCK postgres_server_process)

file(GLOB HELIOSDB_PG_IT_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/postgres_*_test.cc)
foreach(src ${HELIOSDB_PG_IT_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(${name} PRIVATE heliosdb_cdc_testing GTest::gtest_main
    PkgConfig::LIBPQ spdlog::spdlog fmt::fmt)
  target_compile_definitions(${name} PRIVATE
    HELIOSDB_PG_BIN_DIR="/usr/lib/postgresql/15/bin")
  add_dependencies(${name} heliosdb-cdc)
  # Tests that kill/restart the server must not overlap with the others:
  # RESOURCE_LOCK serialises every PostgreSQL test. gtest_discover_tests
  # (CMake 3.25) flattens list-valued PROPERTIES, so the list properties are
  # set by a script ctest runs after the discovered tests.
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 TEST_LIST ${name}_TESTS
    PROPERTIES TIMEOUT 600)
  set(_props ${CMAKE_CURRENT_BINARY_DIR}/${name}_properties.cmake)
  file(WRITE ${_props}
    "if(${name}_TESTS)\n"
    "  set_tests_properties(\${${name}_TESTS} PROPERTIES\n"
    "    LABELS \"integration;postgres\" FIXTURES_REQUIRED postgres_server\n"
    "    RESOURCE_LOCK postgres_server_process\n"
    "    ENVIRONMENT \"HELIOSDB_PG_HOST=127.0.0.1;HELIOSDB_PG_PORT=${HELIOSDB_TEST_PG_PORT};PG_PORT=${HELIOSDB_TEST_PG_PORT};HELIOSDB_PG_SCRIPT=${HELIOSDB_PG_SCRIPT}\")\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${_props})
endforeach()
