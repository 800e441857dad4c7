#include "json.hpp"

#include "memory.hpp"

#include <fmt/format.h>

#include <cmath>
#include <optional>

namespace bench {
namespace {

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += c;
    }
  }
  return out + "\"";
}

std::string num(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return "null";
  return fmt::format("{:.6g}", *v);
}
std::string num(const std::optional<std::uint64_t>& v) { return v ? fmt::format("{}", *v) : "null"; }

}  // namespace

std::string to_json(const result& r, const std::vector<std::string>& missing_systems) {
  const case_spec& c = r.spec;
  const measurement& m = r.median;
  std::string s = "{";
  auto field = [&](std::string_view key, const std::string& value) {
    if (s.size() > 1) s += ", ";
    s += quote(key);
    s += ": ";
    s += value;
  };
  field("system", quote(c.system));
  field("pattern", quote(to_string(c.pattern)));
  field("senders", fmt::format("{}", c.senders));
  field("receivers", fmt::format("{}", c.receivers));
  field("size_min", fmt::format("{}", c.size_min));
  field("size_max", fmt::format("{}", c.size_max));
  field("messages", fmt::format("{}", c.messages));
  field("mode", quote(to_string(c.mode)));
  field("api", quote(to_string(c.api)));
  field("wait", quote(to_string(c.wait)));
  field("status", quote(r.status));
  field("repeats", fmt::format("{}", r.repeats));
  field("us_per_datum", num(m.us_per_datum));
  field("us_per_datum_min", num(r.us_min));
  field("us_per_datum_max", num(r.us_max));
  field("msgs_per_s", num(m.msgs_per_s));
  field("deliveries_per_s", num(m.deliveries_per_s));
  field("gbytes_per_s", num(m.gbytes_per_s));
  field("futex_calls_per_msg", num(m.futex_calls_per_msg));
  field("ctxsw_per_msg", num(m.ctxsw_per_msg));
  field("cpu_s", num(m.cpu_s));
  field("lost", num(m.lost));
  field("errors", num(m.errors));
  field("p50_ns", num(m.p50_ns));
  field("p99_ns", num(m.p99_ns));
  field("p999_ns", num(m.p999_ns));
  field("max_ns", num(m.max_ns));
  field("segment_bytes", num(m.segment_bytes));
  field("max_rss_kib", num(m.max_rss_kib));
  field("note", quote(r.note));
  field("error", quote(m.error));
  // Last, the one array, after the flat fields charts.sh's awk reader looks for.
  std::string missing = "[";
  for (const auto& name : missing_systems) missing += (missing.size() > 1 ? ", " : "") + quote(name);
  field("missing_systems", missing + "]");
  return s + "}";
}

std::string to_json(const memory_report& r) {
  const auto mib = [](double v) { return fmt::format("{:.3f}", v); };
  const auto kib_to_mib = [&](std::uint64_t kib) { return mib(static_cast<double>(kib) / 1024); };
  return fmt::format(
      "{{\"scenario\": \"memory\", \"system\": \"coipc\", \"status\": {}, \"channels\": {}, \"messages\": {}, "
      "\"size\": {}, \"max_message_size\": {}, \"segment_bytes\": {}, \"segments_bytes\": {}, "
      "\"shm_mib\": {}, \"tmpfs_delta_mib\": {}, \"rss_mib\": {}, \"rss_anon_mib\": {}, "
      "\"rss_shmem_mib\": {}, \"rss_file_mib\": {}, \"rss_before_mib\": {}, \"max_rss_kib\": {}, "
      "\"total_mib\": {}, \"seconds\": {}, \"errors\": {}, \"segment_prefix\": {}, \"error\": {}}}",
      quote(r.status), r.channels, r.messages, r.size, r.max_message_size, r.segment_bytes, r.segments_bytes,
      mib(r.shm_mib()), mib(r.tmpfs_delta_mib()), mib(r.rss_mib()), kib_to_mib(r.rss_anon_kib),
      kib_to_mib(r.rss_shmem_kib), kib_to_mib(r.rss_file_kib), kib_to_mib(r.rss_before_kib), r.max_rss_kib,
      mib(r.total_mib()), num(std::optional<double>(r.seconds)), r.errors, quote(r.prefix), quote(r.error));
}

}  // namespace bench
