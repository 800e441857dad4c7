# The memory scenario: `coipc-bench --memory-channels N --json FILE` reports its figures in
# the format bench/README.md describes, writes one JSON line with them, and leaves no
# segment behind. cmake -P with:
#   BENCH     the executable
#   CHANNELS  N
#   JSON      the --json file to write and read back
file(REMOVE "${JSON}")
execute_process(COMMAND "${BENCH}" --memory-channels ${CHANNELS} --json "${JSON}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 280)
message("${out}${err}")
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "coipc-bench --memory-channels ${CHANNELS}: exit status ${rc}, expected 0")
endif()
set(n "[0-9]+")
set(f "[0-9]+\\.[0-9]+")
foreach(re
    "== memory · ${CHANNELS} channel<bytes>, default options, role::both · 10000 msgs of 256 B each ==\n"
    "\nsegment +${f} KiB per channel \\(${n} B; max message ${n} B\\)\n"
    "\nshared +${f} MiB in segment files \\(tmpfs used [-+]${f} MiB\\)\n"
    "\nresident +${f} MiB VmRSS \\(anon ${f}, shmem ${f}, file ${f}; before the channels ${f}; peak ${f}\\)\n"
    "\ntotal +${f} MiB shared \\+ resident \\(${f} MiB per channel\\)\n"
    "\n${n} messages through ${CHANNELS} channels in ${f} s, 0 failed the check\n")
  if(NOT out MATCHES "${re}")
    message(FATAL_ERROR "coipc-bench --memory-channels ${CHANNELS}: no line matching '${re}'")
  endif()
endforeach()

# The JSON line: every field, of its type; the figures add up.
file(STRINGS "${JSON}" lines)
list(LENGTH lines count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "${JSON}: ${count} lines, expected 1")
endif()
set(strings scenario system status segment_prefix error)
set(integers channels messages size max_message_size segment_bytes segments_bytes max_rss_kib errors)
set(numbers shm_mib tmpfs_delta_mib rss_mib rss_anon_mib rss_shmem_mib rss_file_mib rss_before_mib total_mib
    seconds)
foreach(key IN LISTS strings integers numbers)
  string(JSON type ERROR_VARIABLE e TYPE "${lines}" ${key})
  if(e)
    message(FATAL_ERROR "field '${key}' missing: ${lines}")
  endif()
  string(JSON v GET "${lines}" ${key})
  if(key IN_LIST strings AND NOT type STREQUAL "STRING")
    message(FATAL_ERROR "field '${key}' is ${type}, not a string: ${lines}")
  elseif(key IN_LIST integers AND NOT (type STREQUAL "NUMBER" AND v MATCHES "^[0-9]+$"))
    message(FATAL_ERROR "field '${key}' is not a whole number: ${lines}")
  elseif(key IN_LIST numbers AND NOT type STREQUAL "NUMBER")
    message(FATAL_ERROR "field '${key}' is ${type}, not a number: ${lines}")
  endif()
  set(j_${key} "${v}")
endforeach()
if(NOT j_scenario STREQUAL "memory" OR NOT j_status STREQUAL "ok" OR NOT j_channels EQUAL CHANNELS
   OR NOT j_errors EQUAL 0 OR j_segment_bytes LESS 4096)
  message(FATAL_ERROR "${JSON}: not an ok memory result of ${CHANNELS} channels: ${lines}")
endif()
math(EXPR all "${j_segment_bytes} * ${CHANNELS}")
if(j_segments_bytes GREATER all OR j_segments_bytes LESS j_segment_bytes)
  message(FATAL_ERROR
    "${JSON}: segments_bytes ${j_segments_bytes} is not ${CHANNELS} segments of at most ${j_segment_bytes} B")
endif()
# total = shm + rss, to the JSON's rounding: MiB to the thousandth, written as short as
# it goes (30.0, 27.734). cmake's math is integer, so in thousandths, read from the line as
# written (string(JSON) gives doubles back reformatted).
foreach(key shm_mib rss_mib total_mib)
  if(NOT lines MATCHES "\"${key}\": ?([0-9]+)(\\.([0-9]+))?[,}]")
    message(FATAL_ERROR "${JSON}: ${key} is not a number: ${lines}")
  endif()
  set(raw_${key} "${CMAKE_MATCH_1}${CMAKE_MATCH_2}")
  string(SUBSTRING "${CMAKE_MATCH_3}000" 0 3 thousandths)
  math(EXPR milli_${key} "${CMAKE_MATCH_1} * 1000 + ${thousandths}")
endforeach()
math(EXPR diff "${milli_shm_mib} + ${milli_rss_mib} - ${milli_total_mib}")
if(diff GREATER 2 OR diff LESS -2)
  message(FATAL_ERROR "${JSON}: total_mib ${raw_total_mib} is not shm_mib ${raw_shm_mib} + rss_mib ${raw_rss_mib}")
endif()

# Its segments are gone (its own: other runs may have theirs there now).
if(NOT out MATCHES "\nsegments coipc\\.(cbm[0-9]+-)0 \\.\\. coipc\\.cbm[0-9]+-[0-9]+: removed\n")
  message(FATAL_ERROR "coipc-bench --memory-channels ${CHANNELS}: no line 'segments ...: removed'")
endif()
set(prefix "${CMAKE_MATCH_1}")
if(NOT j_segment_prefix STREQUAL prefix)
  message(FATAL_ERROR "${JSON}: segment_prefix '${j_segment_prefix}', the report says '${prefix}'")
endif()
file(GLOB left "/dev/shm/coipc.${prefix}*")
if(left)
  message(FATAL_ERROR "segments left behind: ${left}")
endif()
message("memory: ${CHANNELS} channels, ${raw_shm_mib} MiB shared + ${raw_rss_mib} MiB resident = ${raw_total_mib} MiB; "
        "report and JSON ok, segments removed")
