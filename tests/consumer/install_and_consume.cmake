# Installs the built project into a scratch prefix, then configures, builds
# and runs tests/consumer against it with find_package(heliosdb_cdc):
#   1. the core package with CLI11, toml++, prometheus-cpp and civetweb made
#      unfindable (CMAKE_DISABLE_FIND_PACKAGE_<name>: a find_package of one of
#      them, REQUIRED as find_dependency makes it, fails the configure), and
#      no build flag of theirs reaching the consumer;
#   2. the metrics component, with CLI11 and toml++ still unfindable.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed")
endif()
file(GLOB_RECURSE daemon_only ${WORK_DIR}/prefix/libheliosdb_cdc_config.a
                              ${WORK_DIR}/prefix/libheliosdb_cdc_cli.a)
if(daemon_only)
  message(FATAL_ERROR "the daemon's config and cli modules were installed: ${daemon_only}")
endif()

set(not_findable -DCMAKE_DISABLE_FIND_PACKAGE_CLI11=ON -DCMAKE_DISABLE_FIND_PACKAGE_tomlplusplus=ON)

# consume(<name> <configure arg>...): configures and builds tests/consumer in
# ${WORK_DIR}/<name>.
function(consume name)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/${name}
                          -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "configuring the consumer project (${name}) with find_package(heliosdb_cdc) failed:\n${out}\n${err}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/${name} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "building the consumer project (${name}) failed")
  endif()
endfunction()

# 1. The core package.
consume(core ${not_findable} -DCMAKE_DISABLE_FIND_PACKAGE_prometheus-cpp=ON
             -DCMAKE_DISABLE_FIND_PACKAGE_civetweb=ON)
# What the consumer's compile and link lines carry: nothing of CLI11 or
# prometheus-cpp, and toml++ only as its runtime library, not its headers'
# build flags or its development symlink (libtomlplusplus.so).
file(GLOB_RECURSE build_files ${WORK_DIR}/core/CMakeFiles/*/flags.make
                              ${WORK_DIR}/core/CMakeFiles/*/link.txt)
foreach(f ${build_files})
  file(READ ${f} text)
  if(text MATCHES "(CLI11|prometheus|civetweb|TOML_|libtomlplusplus\\.so( |$))")
    message(FATAL_ERROR "${f} names ${CMAKE_MATCH_1}:\n${text}")
  endif()
endforeach()
execute_process(COMMAND ${WORK_DIR}/core/consumer OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out MATCHES "\"event_id\":\"evt_mydb_1\"")
  message(FATAL_ERROR "consumer failed (${rc}): ${out}")
endif()
message(STATUS "consumer printed: ${out}")
file(MAKE_DIRECTORY ${WORK_DIR}/empty-wal)
execute_process(COMMAND ${WORK_DIR}/core/wal_consumer ${WORK_DIR}/empty-wal
                OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out MATCHES "wal segments: 0")
  message(FATAL_ERROR "wal_consumer (heliosdb_cdc::wal alone) failed (${rc}): ${out}")
endif()
message(STATUS "wal_consumer printed: ${out}")

# 2. The metrics component.
consume(metrics ${not_findable} -DCONSUMER_METRICS=ON)
execute_process(COMMAND ${WORK_DIR}/metrics/metrics_consumer OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out MATCHES "heliosdb_cdc_")
  message(FATAL_ERROR "metrics_consumer failed (${rc}): ${out}")
endif()
message(STATUS "metrics_consumer scraped the heliosdb_cdc_* series")
