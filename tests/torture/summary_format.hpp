// coipc-torture: what the kill torture's summary (summary.cpp) and the hostile writer's
// (hostile.cpp) share in form: counts summed over kinds, the table of checks and failures,
// the result line, the JSON strings and check objects, and the exit status. Their content
// differs (invariants and kills there, calls and overruns here); the form must not, so that
// a reader (or a script over the JSON) reads both alike.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace torture {

/// The sum of counts kept by kind (kills by kind, failures by check, errors by errc).
template <std::size_t N>
std::uint64_t total(const std::uint64_t (&counts)[N]) {
  std::uint64_t n = 0;
  for (auto c : counts) n += c;
  return n;
}

/// `s` as a JSON string literal, quotes included.
std::string json_string(const std::string& s);

/// The checks table: a heading row, then one row per check (name, checks, failures, what it
/// means); the columns as wide as `name_width` and `count_width`.
void print_check_table(std::FILE* out, const char* heading, int name_width, int count_width,
                       const char* const* names, const char* const* descriptions, const std::uint64_t* checks,
                       const std::uint64_t* failures, unsigned n);

/// "result: PASS", or "result: FAIL (...)" with the seed (and `rerun`, the command line that
/// replays the run, when not empty) and every failure report; flushes `out`.
void print_result(std::FILE* out, std::uint64_t failures, std::uint64_t seed, const std::string& rerun,
                  const std::vector<std::string>& reports);

/// The members of a JSON object of checks: "name": {"checks": N, "failures": M}, one a line.
void json_checks(std::FILE* f, const char* const* names, const std::uint64_t* checks, const std::uint64_t* failures,
                 unsigned n);

/// The elements of a JSON array of strings, one a line.
void json_strings(std::FILE* f, const std::vector<std::string>& strings);

/// The end of a run: the summary on stdout, the JSON file when asked for; the exit status
/// (0 pass, 1 a failure, 2 the JSON could not be written).
template <class Summary>
int finish_run(const Summary& s, const std::string& json_path) {
  print_summary(s, stdout);
  if (!json_path.empty() && !write_json(s, json_path)) {
    std::fprintf(stderr, "coipc-torture: cannot write %s\n", json_path.c_str());
    return 2;
  }
  return s.total_failures() == 0 ? 0 : 1;
}

}  // namespace torture
