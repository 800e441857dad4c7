# The installed package, as outside projects meet it:
#   1. install the coipc build tree into a prefix, then MOVE the prefix: the package must be
#      relocatable (nothing in it may name the build machine's source or build tree);
#   2. a consumer of coipc::coipc and coipc::asio whose global CMAKE_CXX_FLAGS carry extra
#      warnings (no -Werror): CMake compiles coipc's module interfaces with the consumer's
#      flags plus what the package exports, so coipc must export none of its own warnings;
#   3. a payload type that is not trivially copyable fails to compile with coipc's message;
#   4. a core-only consumer where Asio cannot be found: find_package(coipc) succeeds, and
#      asking for COMPONENTS asio fails with coipc's message.
foreach(var COIPC_BUILD_DIR COIPC_SOURCE_DIR CONSUMER_SOURCE_DIR WORK_DIR CXX_COMPILER SCAN_DEPS)
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
set(staging ${WORK_DIR}/staging)
set(prefix ${WORK_DIR}/moved/elsewhere)
run(${CMAKE_COMMAND} --install ${COIPC_BUILD_DIR} --prefix ${staging})
file(MAKE_DIRECTORY ${WORK_DIR}/moved)
file(RENAME ${staging} ${prefix})

# Nothing installed may point back at the trees it came from, or at the staging prefix.
file(GLOB_RECURSE installed LIST_DIRECTORIES false ${prefix}/*)
foreach(f IN LISTS installed)
  if(f MATCHES "\\.(cmake|cppm)$")
    file(STRINGS ${f} hits REGEX "${COIPC_SOURCE_DIR}/|${COIPC_BUILD_DIR}/|${staging}")
    if(hits)
      message(FATAL_ERROR "installed ${f} names a path outside the package: ${hits}")
    endif()
  endif()
endforeach()
message(STATUS "the installed package names no path outside itself, and was moved to ${prefix}")

set(sanitizer_flags "")
if(SANITIZER)
  list(JOIN SANITIZER "," s)
  set(sanitizer_flags "-fsanitize=${s}")
endif()
set(common_args -G Ninja
    -DCMAKE_BUILD_TYPE=Debug
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_CXX_COMPILER_CLANG_SCAN_DEPS=${SCAN_DEPS}
    -DCMAKE_PREFIX_PATH=${prefix}
    "-DCMAKE_EXE_LINKER_FLAGS=${sanitizer_flags}")

# 2. Extra warnings, no -Werror: must build and run.
set(extra_warnings "-Wshadow -Wconversion -Wpedantic -Wunsafe-buffer-usage")
run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build ${common_args}
    "-DCMAKE_CXX_FLAGS=${extra_warnings} ${sanitizer_flags}")
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the consumer with extra warnings (${extra_warnings}) failed to build:\n${out}${err}")
endif()
if("${out}${err}" MATCHES "-Werror|-Wall -Wextra")
  message(FATAL_ERROR "coipc's own warning flags reached the consumer's build:\n${out}${err}")
endif()
run(${WORK_DIR}/build/consumer)
message(STATUS "a consumer with ${extra_warnings} in CMAKE_CXX_FLAGS builds and runs")

# 3. A payload type that is not trivially copyable is rejected at compile time, readably.
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build --target bad_payload
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "route<std::string> compiled, but must be rejected")
endif()
if(NOT "${out}${err}" MATCHES "a message type must be trivially copyable")
  message(FATAL_ERROR "route<std::string> failed without coipc's message:\n${out}${err}")
endif()
message(STATUS "route<std::string> is rejected at compile time with coipc's message")

# 4. Core only, with Asio out of sight (its header lives in /usr/include on Debian).
set(hide_asio "-DCMAKE_IGNORE_PATH=/usr/include")
run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR}/core_only -B ${WORK_DIR}/core ${common_args}
    ${hide_asio} "-DCMAKE_CXX_FLAGS=${sanitizer_flags}")
run(${CMAKE_COMMAND} --build ${WORK_DIR}/core)
run(${WORK_DIR}/core/core_consumer)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR}/core_only -B ${WORK_DIR}/core-asio
                        ${common_args} ${hide_asio} -DWANT_ASIO=ON
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "find_package(coipc COMPONENTS asio) succeeded although Asio is hidden")
endif()
if(NOT "${out}${err}" MATCHES "coipc::asio needs asio.hpp")
  message(FATAL_ERROR "find_package(coipc COMPONENTS asio) failed without coipc's message:\n${out}${err}")
endif()
message(STATUS "core-only consumer builds without Asio; COMPONENTS asio fails with coipc's message")
