# `--system all` runs every system built and nothing else, and names exactly the known
# peers not built: none when all were found, else one line on stdout, and the same names in
# the JSON. One small case (route 1->1, thread mode) per system. cmake -P with:
#   BENCH    the executable
#   BUILT    the systems built, comma-separated, in the order they run
#   MISSING  the peers not built, comma-separated, in the same order (may be empty)
#   JSON     a --json file to write and read back
string(REPLACE "," ";" built "${BUILT}")
string(REPLACE "," ";" missing "${MISSING}")
file(REMOVE "${JSON}")
execute_process(COMMAND "${BENCH}" --system all --pattern route --receivers 1 --mode thread --size 9-256
    --messages 200 --timeout 120 --json "${JSON}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 280)
message("${out}${err}")
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "coipc-bench --system all: exit status ${rc}, expected 0")
endif()

# The line: each missing peer in order, with a reason, and none other; no line when none.
if(missing)
  set(expected "")
  foreach(sys IN LISTS missing)
    if(expected)
      string(APPEND expected ", ")
    endif()
    string(APPEND expected "${sys} \\([^()\n]+ at configure time\\)")
  endforeach()
  if(NOT out MATCHES "(^|\n)coipc-bench: not built: ${expected}\n")
    message(FATAL_ERROR "coipc-bench --system all: no line 'coipc-bench: not built: ' naming exactly ${MISSING}")
  endif()
elseif("${out}${err}" MATCHES "not built")
  message(FATAL_ERROR "coipc-bench --system all: names peers not built, but all were found")
endif()

# What ran: one result per built system, in order; and every line records the missing.
file(STRINGS "${JSON}" lines)
set(ran "")
foreach(line IN LISTS lines)
  string(JSON sys GET "${line}" system)
  list(APPEND ran ${sys})
  string(JSON n LENGTH "${line}" missing_systems)
  set(recorded "")
  if(n GREATER 0)
    math(EXPR last "${n} - 1")
    foreach(i RANGE ${last})
      string(JSON name GET "${line}" missing_systems ${i})
      list(APPEND recorded ${name})
    endforeach()
  endif()
  if(NOT recorded STREQUAL missing)
    message(FATAL_ERROR "${JSON}: missing_systems is [${recorded}], expected [${missing}]: ${line}")
  endif()
endforeach()
if(NOT ran STREQUAL built)
  message(FATAL_ERROR "coipc-bench --system all ran [${ran}], expected the systems built: [${built}]")
endif()
list(LENGTH built n_built)
message("--system all: ran the ${n_built} systems built (${ran}); not built, and said so: [${missing}]")
