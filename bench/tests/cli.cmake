# coipc-bench's command line: every bad argument exits 2 with the usage; --help exits 0.
# cmake -P with BENCH = the executable.
set(bad
  "--bogus"
  "--pattern nope"
  "--pattern"
  "--senders 0"
  "--senders 65"
  "--receivers x"
  "--messages 0"
  "--messages -5"
  "--size 3"
  "--size 10-5"
  "--size 2G"
  "--size 1K-"
  "--mode fast"
  "--wait maybe"
  "--api async"
  "--system nope"
  "--system coipc,nope"
  "--repeat 0"
  "--timeout 0"
  "--json"
  "--quick=1"
  "--pattern route --senders 2"
  "--pattern pingpong --receivers 3"
)
foreach(a IN LISTS bad)
  separate_arguments(args UNIX_COMMAND "${a}")
  execute_process(COMMAND "${BENCH}" ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 30)
  if(NOT rc STREQUAL "2")
    message(FATAL_ERROR "coipc-bench ${a}: exit status ${rc}, expected 2\n${out}${err}")
  endif()
  if(NOT err MATCHES "usage: coipc-bench")
    message(FATAL_ERROR "coipc-bench ${a}: no usage on stderr\n${err}")
  endif()
  if(NOT out STREQUAL "")
    message(FATAL_ERROR "coipc-bench ${a}: wrote to stdout\n${out}")
  endif()
endforeach()

execute_process(COMMAND "${BENCH}" --help RESULT_VARIABLE rc OUTPUT_VARIABLE out TIMEOUT 30)
if(NOT rc STREQUAL "0" OR NOT out MATCHES "usage: coipc-bench")
  message(FATAL_ERROR "coipc-bench --help: exit status ${rc}\n${out}")
endif()
list(LENGTH bad n)
message("${n} bad command lines rejected with status 2 and the usage; --help ok")
