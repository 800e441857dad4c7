# coipc-bench's command line: every bad argument exits 2 with the usage; --help exits 0; a
# known peer this build lacks is refused as not built, with the reason, an unknown name as
# unknown. cmake -P with BENCH = the executable, MISSING = the peers not built, comma-separated
# (bench/CMakeLists.txt: what its configure did not find).
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
  "--api blocking,"
  "--api blocking,nope"
  "--duration 0"
  "--duration x"
  "--duration 1 --messages 5"
  "--quick --duration 1"
  "--duration 10 --timeout 15"
  "--memory-channels 5 --duration 1"
  "--memory-channels 5 --api all"
  "--system nope"
  "--system coipc,nope"
  "--repeat 0"
  "--timeout 0"
  "--json"
  "--quick=1"
  "--pattern route --senders 2"
  "--pattern pingpong --receivers 3"
  "--memory-channels 0"
  "--memory-channels 10001"
  "--memory-channels x"
  "--memory-channels 5 --pattern route"
  "--memory-channels 5 --system coipc"
  "--repeat 3 --memory-channels"
  "--memory-channels 5 --size 9-256"
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

# Not built, against unknown: each says which it is (an unknown name is not "not built").
string(REPLACE "," ";" missing "${MISSING}")
execute_process(COMMAND "${BENCH}" --system nope RESULT_VARIABLE rc ERROR_VARIABLE err TIMEOUT 30)
if(NOT err MATCHES "^coipc-bench: bad --system 'nope': unknown system\n")
  message(FATAL_ERROR "coipc-bench --system nope: not an unknown-system error\n${err}")
endif()
foreach(sys IN LISTS missing)
  foreach(arg "${sys}" "coipc,${sys}" "all,${sys}")
    execute_process(COMMAND "${BENCH}" --system ${arg} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
      TIMEOUT 30)
    if(NOT rc STREQUAL "2" OR NOT out STREQUAL "")
      message(FATAL_ERROR "coipc-bench --system ${arg}: exit status ${rc}, expected 2 (not built)\n${out}${err}")
    endif()
    if(NOT err MATCHES "^coipc-bench: system '${sys}' is not built into this coipc-bench: [^\n]+ (was|were) not found when it was configured\n")
      message(FATAL_ERROR "coipc-bench --system ${arg}: not a not-built error\n${err}")
    endif()
  endforeach()
endforeach()

execute_process(COMMAND "${BENCH}" --help RESULT_VARIABLE rc OUTPUT_VARIABLE out TIMEOUT 30)
if(NOT rc STREQUAL "0" OR NOT out MATCHES "usage: coipc-bench")
  message(FATAL_ERROR "coipc-bench --help: exit status ${rc}\n${out}")
endif()
# The usage lists every known system, and then exactly the ones not built here.
if(NOT out MATCHES "coipc posix_mq uds pipe boost_mq zmq iceoryx, or all")
  message(FATAL_ERROR "coipc-bench --help: --system does not list every known system\n${out}")
endif()
list(JOIN missing " " missing_text)
if(missing AND NOT out MATCHES "\\(default coipc\\); not built here: ${missing_text}\n")
  message(FATAL_ERROR "coipc-bench --help: does not say '${missing_text}' are not built\n${out}")
elseif(NOT missing AND out MATCHES "not built")
  message(FATAL_ERROR "coipc-bench --help: names systems not built, but all are\n${out}")
endif()
list(LENGTH bad n)
list(LENGTH missing n_missing)
message("${n} bad command lines rejected with status 2 and the usage; --help ok; "
        "${n_missing} peers not built refused as such (${missing_text})")
