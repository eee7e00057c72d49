# Avro + schema registry suite against a real Confluent-compatible registry:
# Apicurio Registry 3.3.3 on 127.0.0.1:18081 (management 18082), started and
# stopped by scripts/services/apicurio.sh through the ctest fixture
# "apicurio". If the registry cannot start, the setup test fails with the
# reason and the registry tests fail (they never skip).
#
#   ctest -L avro           # the unit tests of the encoder plus this suite
set(HELIOSDB_APICURIO_SCRIPT ${PROJECT_SOURCE_DIR}/scripts/services/apicurio.sh)

add_test(NAME apicurio_start COMMAND ${HELIOSDB_APICURIO_SCRIPT} start)
set_tests_properties(apicurio_start PROPERTIES
  FIXTURES_SETUP apicurio LABELS "integration;avro" TIMEOUT 600 RESOURCE_LOCK apicurio_process)
add_test(NAME apicurio_stop COMMAND ${HELIOSDB_APICURIO_SCRIPT} stop)
set_tests_properties(apicurio_stop PROPERTIES
  FIXTURES_CLEANUP apicurio LABELS "integration;avro" TIMEOUT 120 RESOURCE_LOCK apicurio_process)

# The Avro unit tests (tests/unit/avro_*_test.cc, discovered by
# tests/CMakeLists.txt with the default TEST_LIST <target>_TESTS) also carry
# the label "avro", so `ctest -L avro` runs the whole area.
file(GLOB HELIOSDB_AVRO_UNIT_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/../unit/avro_*_test.cc)
set(_avro_unit_props ${CMAKE_CURRENT_BINARY_DIR}/avro_unit_properties.cmake)
file(WRITE ${_avro_unit_props} "")
foreach(src ${HELIOSDB_AVRO_UNIT_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  file(APPEND ${_avro_unit_props}
    "if(${name}_TESTS)\n  set_tests_properties(\${${name}_TESTS} PROPERTIES LABELS \"unit;avro\")\nendif()\n")
endforeach()
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${_avro_unit_props})

file(GLOB HELIOSDB_REGISTRY_IT_SOURCES CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_LIST_DIR}/schema_registry_*_test.cc)
foreach(src ${HELIOSDB_REGISTRY_IT_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_LIST_DIR}
                                             ${CMAKE_CURRENT_LIST_DIR}/../unit)
  target_link_libraries(${name} PRIVATE heliosdb_cdc_testing GTest::gtest_main CURL::libcurl
    PkgConfig::RDKAFKA spdlog::spdlog fmt::fmt)
  add_dependencies(${name} heliosdb-cdc)
  if(name MATCHES "kafka")
    # Kafka end to end with Avro: also needs the broker of tests/integration/kafka.cmake.
    set(_labels "integration;avro;kafka")
    set(_fixtures "apicurio;kafka_broker")
    set(_locks "apicurio_process;kafka_broker_process")
  elseif(name MATCHES "kinesis")
    # Kinesis end to end with Avro: also needs kinesis-mock of tests/integration/kinesis.cmake
    # (its fault proxy is global state, hence the lock) and the AWS signer's crypto.
    target_link_libraries(${name} PRIVATE OpenSSL::Crypto)
    set(_labels "integration;avro;kinesis")
    set(_fixtures "apicurio;kinesis_service")
    set(_locks "apicurio_process;kinesis_service_process")
  else()
    set(_labels "integration;avro")
    set(_fixtures "apicurio")
    set(_locks "apicurio_process")  # some tests stop and restart the registry
  endif()
  # gtest_discover_tests (CMake 3.25) flattens list-valued PROPERTIES, so the
  # list properties are set by a script ctest runs after the discovered tests.
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 TEST_LIST ${name}_TESTS
    PROPERTIES TIMEOUT 300)
  set(_props ${CMAKE_CURRENT_BINARY_DIR}/${name}_properties.cmake)
  file(WRITE ${_props}
    "if(${name}_TESTS)\n"
    "  set_tests_properties(\${${name}_TESTS} PROPERTIES\n"
    "    LABELS \"${_labels}\" FIXTURES_REQUIRED \"${_fixtures}\" RESOURCE_LOCK \"${_locks}\")\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${_props})
endforeach()
