# Installs the coipc build tree into a fresh prefix, then configures, builds and runs an
# outside project that finds it with find_package(coipc CONFIG REQUIRED) and imports it.
foreach(var COIPC_BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR CXX_COMPILER SCAN_DEPS)
  if(NOT ${var})
    message(FATAL_ERROR "run.cmake: ${var} is not set")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    list(JOIN ARGV " " cmd)
    message(FATAL_ERROR "failed (${rc}): ${cmd}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${COIPC_BUILD_DIR} --prefix ${prefix})

set(flags "")
if(SANITIZER)
  list(JOIN SANITIZER "," s)
  set(flags "-fsanitize=${s}")
endif()
run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build -G Ninja
    -DCMAKE_BUILD_TYPE=Debug
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_CXX_COMPILER_CLANG_SCAN_DEPS=${SCAN_DEPS}
    -DCMAKE_PREFIX_PATH=${prefix}
    "-DCMAKE_CXX_FLAGS=${flags}"
    "-DCMAKE_EXE_LINKER_FLAGS=${flags}")
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)

# A payload type that is not trivially copyable is rejected at compile time, readably.
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build --target bad_payload
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "route<std::string> compiled, but must be rejected")
endif()
if(NOT "${out}${err}" MATCHES "a message type must be trivially copyable")
  message(FATAL_ERROR "route<std::string> failed without coipc's message:\n${out}${err}")
endif()
message(STATUS "route<std::string> is rejected at compile time with coipc's message")
