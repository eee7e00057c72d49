# The layering test, include side (cmake -P; tests/CMakeLists.txt): the module
# graph of cmake/HeliosdbCdcModule.cmake must be what the compiler enforces.
#
# For each module M it takes the real compile command of one of M's files from
# compile_commands.json and preprocesses, with M's flags, a probe that asks
# __has_include for one header of every module folder. The folders M sees
# must be exactly M and its DEPS. Then two real compiles with serde's flags:
# including a sink header must fail with "No such file" (serde knows nothing
# of sinks, nor of config), and including options/config_section.h must build.
#
# Includes that climb out of a folder ("../sink/x.h") would get around the
# include paths, so none may exist under src/.
#
# -DGRAPH=<module_graph.cmake> -DCOMPILE_COMMANDS=<compile_commands.json>
# -DSOURCE_DIR=<project root> -DWORK_DIR=<scratch dir>
include(${GRAPH})
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
get_filename_component(build_dir ${COMPILE_COMMANDS} DIRECTORY)
file(STRINGS ${COMPILE_COMMANDS} commands REGEX "\"command\": ")

# compile_command(<module> <out>): the compiler and flags of one file of the
# module, without the launcher, the output and the input file.
function(compile_command module out)
  foreach(line IN LISTS commands)
    if(line MATCHES "\"command\": \"(.* -c [^ ]*/src/${module}/[^ \"]*\\.cc)\"")
      set(cmd "${CMAKE_MATCH_1}")
      break()
    endif()
  endforeach()
  if(NOT cmd)
    message(FATAL_ERROR "no compile command for a file of src/${module}/ in ${COMPILE_COMMANDS}")
  endif()
  string(REPLACE "\\\"" "\"" cmd "${cmd}")
  separate_arguments(args UNIX_COMMAND "${cmd}")
  set(result)
  set(skip_next FALSE)
  foreach(arg IN LISTS args)
    if(skip_next)
      set(skip_next FALSE)
    elseif(arg MATCHES "^-(o|c|MT|MF)$")
      set(skip_next TRUE)
    elseif(arg STREQUAL "-MD" OR (NOT result AND arg MATCHES "ccache$"))
    else()
      list(APPEND result "${arg}")
    endif()
  endforeach()
  set(${out} ${result} PARENT_SCOPE)
endfunction()

# One existing header of each module folder.
set(probe "")
foreach(module ${HELIOSDB_CDC_MODULES})
  file(GLOB_RECURSE headers RELATIVE ${SOURCE_DIR}/src ${SOURCE_DIR}/src/${module}/*.h)
  list(SORT headers)
  list(GET headers 0 header)
  set(header_${module} ${header})
  string(APPEND probe "#if __has_include(\"${header}\")\nheliosdb_visible_module ${module}\n#endif\n")
endforeach()
file(WRITE ${WORK_DIR}/visible.cc "${probe}")

set(failures "")
foreach(module ${HELIOSDB_CDC_MODULES})
  compile_command(${module} cmd)
  execute_process(COMMAND ${cmd} -E -P ${WORK_DIR}/visible.cc -o ${WORK_DIR}/visible_${module}.i
                  WORKING_DIRECTORY ${build_dir} RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "preprocessing the probe with the flags of ${module} failed: ${err}")
  endif()
  file(STRINGS ${WORK_DIR}/visible_${module}.i lines REGEX "^heliosdb_visible_module ")
  list(TRANSFORM lines REPLACE "^heliosdb_visible_module " "")
  set(expected ${module} ${HELIOSDB_CDC_MODULE_${module}_DEPS})
  list(SORT lines)
  list(SORT expected)
  if(NOT lines STREQUAL expected)
    string(APPEND failures "  ${module} sees {${lines}}, its DEPS allow {${expected}}\n")
  else()
    message(STATUS "${module} sees exactly: ${lines}")
  endif()
endforeach()
if(failures)
  message(FATAL_ERROR "module include paths do not match the graph:\n${failures}")
endif()

# No include climbs out of its folder.
file(GLOB_RECURSE src_files ${SOURCE_DIR}/src/*.h ${SOURCE_DIR}/src/*.cc)
foreach(f ${src_files})
  file(STRINGS ${f} climbing REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]\\.\\./")
  if(climbing)
    string(APPEND failures "  ${f}: ${climbing}\n")
  endif()
endforeach()
if(failures)
  message(FATAL_ERROR "includes with \"../\" get around the module include paths:\n${failures}")
endif()

# The pipeline sees sources only through the seam (src/source/source.h and
# wal_source_factory.h): nothing of the WAL, so a second source needs no
# change there.
file(GLOB pipeline_files ${SOURCE_DIR}/src/pipeline/*.h ${SOURCE_DIR}/src/pipeline/*.cc)
foreach(f ${pipeline_files})
  file(STRINGS ${f} wal_includes
       REGEX "^[ \t]*#[ \t]*include[ \t]*\"(heliosdb/cdc/wal\\.h|wal/|source/(wal_source|txn_assembler|database_match)\\.h)")
  if(wal_includes)
    string(APPEND failures "  ${f}: ${wal_includes}\n")
  endif()
endforeach()
if(failures)
  message(FATAL_ERROR "the pipeline includes WAL headers (use the source seam):\n${failures}")
endif()
message(STATUS "the pipeline includes no WAL header")

# A wrong-direction include fails to compile; an allowed one compiles.
compile_command(serde serde_cmd)
foreach(forbidden sink config)
  file(WRITE ${WORK_DIR}/serde_includes_${forbidden}.cc "#include \"${header_${forbidden}}\"\n")
  execute_process(COMMAND ${serde_cmd} -fsyntax-only ${WORK_DIR}/serde_includes_${forbidden}.cc
                  WORKING_DIRECTORY ${build_dir} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT err MATCHES "${header_${forbidden}}: No such file")
    message(FATAL_ERROR "a serde file including \"${header_${forbidden}}\" should fail for the missing file (${rc}): ${err}")
  endif()
  message(STATUS "serde including \"${header_${forbidden}}\" fails to compile, as it should")
endforeach()
file(WRITE ${WORK_DIR}/serde_includes_options.cc "#include \"options/config_section.h\"\n")
execute_process(COMMAND ${serde_cmd} -fsyntax-only ${WORK_DIR}/serde_includes_options.cc
                WORKING_DIRECTORY ${build_dir} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "a serde file including \"options/config_section.h\" should compile: ${err}")
endif()
message(STATUS "serde including \"options/config_section.h\" compiles")
