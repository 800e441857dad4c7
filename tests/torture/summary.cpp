// coipc-torture: the end-of-run summary, as text and as JSON (the same data).
#include <cstdio>
#include <string>

#include "summary_format.hpp"
#include "supervisor.hpp"

namespace torture {

namespace {

using ull = unsigned long long;

}  // namespace

void print_summary(const summary& s, std::FILE* out) {
  std::fprintf(out, "\ncoipc-torture summary: seed %llu, %zu variants, %.1f s\n", static_cast<ull>(s.seed),
               s.variants.size(), s.seconds);
  std::fprintf(out, "kills: %llu in all", static_cast<ull>(s.total_kills()));
  for (unsigned k = 0; k < kill_kind_count; ++k) {
    if (s.kills_by_kind[k]) std::fprintf(out, ", %s %llu", kill_kind_name(k), static_cast<ull>(s.kills_by_kind[k]));
  }
  std::fprintf(out, "\narmed with --die-at (fired/armed):");
  for (unsigned k = 0; k < die_point_count; ++k) {
    std::fprintf(out, " %s %llu/%llu", die_point_names[k], static_cast<ull>(s.kills_by_kind[2 + k]),
                 static_cast<ull>(s.armed[k]));
  }
  std::fprintf(out, "%s\n", s.fault_points ? "" : " (library fault points not compiled in)");
  std::fprintf(out, "incarnations: %llu senders, %llu receivers (%llu of them with blind liveness checks)\n",
               static_cast<ull>(s.sender_incarnations), static_cast<ull>(s.receiver_incarnations),
               static_cast<ull>(s.blind));
  std::fprintf(out, "messages: sent %llu, received %llu (all receivers), lost %llu (overwrite, library's count)\n",
               static_cast<ull>(s.sent), static_cast<ull>(s.received), static_cast<ull>(s.lost));
  std::fprintf(out, "longest progress gap: %.1f ms while the kills went on, %.1f ms after the last kill (bound %u ms)\n",
               static_cast<double>(s.longest_kill_gap_ns) / 1e6, static_cast<double>(s.longest_gap_ns) / 1e6,
               s.progress_bound_ms);
  print_check_table(out, "invariant", 22, 14, invariant_names, invariant_descriptions, s.checks, s.failures,
                    invariant_count);
  print_result(out, s.total_failures(), s.seed, "", s.failure_reports);
}

bool write_json(const summary& s, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  std::fprintf(f, "{\n  \"seed\": %llu,\n  \"seconds\": %.3f,\n  \"result\": \"%s\",\n", static_cast<ull>(s.seed),
               s.seconds, s.total_failures() ? "fail" : "pass");
  std::fprintf(f, "  \"kills\": {\"total\": %llu", static_cast<ull>(s.total_kills()));
  for (unsigned k = 0; k < kill_kind_count; ++k) {
    std::fprintf(f, ", \"%s\": %llu", kill_kind_name(k), static_cast<ull>(s.kills_by_kind[k]));
  }
  std::fprintf(f, "},\n  \"armed\": {");
  for (unsigned k = 0; k < die_point_count; ++k) {
    std::fprintf(f, "%s\"%s\": %llu", k ? ", " : "", die_point_names[k], static_cast<ull>(s.armed[k]));
  }
  std::fprintf(f, "},\n  \"fault_points\": %s,\n", s.fault_points ? "true" : "false");
  std::fprintf(f, "  \"incarnations\": {\"senders\": %llu, \"receivers\": %llu, \"blind\": %llu},\n",
               static_cast<ull>(s.sender_incarnations), static_cast<ull>(s.receiver_incarnations),
               static_cast<ull>(s.blind));
  std::fprintf(f, "  \"messages\": {\"sent\": %llu, \"received\": %llu, \"lost\": %llu},\n", static_cast<ull>(s.sent),
               static_cast<ull>(s.received), static_cast<ull>(s.lost));
  std::fprintf(f, "  \"longest_progress_gap_ms\": %.3f,\n  \"longest_progress_gap_while_killing_ms\": %.3f,\n"
               "  \"progress_bound_ms\": %u,\n",
               static_cast<double>(s.longest_gap_ns) / 1e6, static_cast<double>(s.longest_kill_gap_ns) / 1e6,
               s.progress_bound_ms);
  std::fprintf(f, "  \"invariants\": {");
  json_checks(f, invariant_names, s.checks, s.failures, invariant_count);
  std::fprintf(f, "\n  },\n  \"variants\": [");
  for (std::size_t i = 0; i < s.variants.size(); ++i) {
    const variant_result& v = s.variants[i];
    std::fprintf(f,
                 "%s\n    {\"variant\": %s, \"kills\": %llu, \"sender_incarnations\": %llu, "
                 "\"receiver_incarnations\": %llu, \"sent\": %llu, \"received\": %llu, \"lost\": %llu, "
                 "\"longest_gap_ms\": %.3f, \"failures\": %llu, \"seconds\": %.3f}",
                 i ? "," : "", json_string(v.label).c_str(), static_cast<ull>(v.kills),
                 static_cast<ull>(v.sender_incarnations), static_cast<ull>(v.receiver_incarnations),
                 static_cast<ull>(v.sent), static_cast<ull>(v.received), static_cast<ull>(v.lost),
                 static_cast<double>(v.longest_gap_ns) / 1e6, static_cast<ull>(v.failures), v.seconds);
  }
  std::fprintf(f, "\n  ],\n  \"failure_reports\": [");
  json_strings(f, s.failure_reports);
  std::fprintf(f, "\n  ]\n}\n");
  return std::fclose(f) == 0;
}

}  // namespace torture
