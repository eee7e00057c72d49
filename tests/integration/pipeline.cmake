# End-to-end tests of the daemon with the file sink (no external service),
# the custom sink example, and a consumer project using the installed package.
add_executable(custom_sink_example ${PROJECT_SOURCE_DIR}/examples/custom_sink.cc)
target_link_libraries(custom_sink_example PRIVATE heliosdb_cdc)

add_executable(pipeline_e2e_test ${CMAKE_CURRENT_LIST_DIR}/pipeline_e2e_test.cc)
target_link_libraries(pipeline_e2e_test PRIVATE heliosdb_cdc_testing GTest::gtest_main)
target_compile_definitions(pipeline_e2e_test PRIVATE
  CUSTOM_SINK_EXAMPLE="$<TARGET_FILE:custom_sink_example>")
add_dependencies(pipeline_e2e_test heliosdb-cdc custom_sink_example)
gtest_discover_tests(pipeline_e2e_test DISCOVERY_TIMEOUT 60
                     PROPERTIES LABELS "integration" TIMEOUT 900)

add_test(NAME install_and_find_package
  COMMAND ${CMAKE_COMMAND}
    -DBUILD_DIR=${PROJECT_BINARY_DIR}
    -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DWORK_DIR=${PROJECT_BINARY_DIR}/consumer-test
    -P ${PROJECT_SOURCE_DIR}/tests/consumer/install_and_consume.cmake)
set_tests_properties(install_and_find_package PROPERTIES LABELS "integration" TIMEOUT 600)
