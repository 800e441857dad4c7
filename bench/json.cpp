#include "json.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <optional>

#include "memory.hpp"

namespace bench {
namespace {

/// Fields in the order they are set: the order the lines have always had.
using json = nlohmann::ordered_json;

/// A measured figure, to the six significant digits it is good for; null where it was not
/// measured (or is not a number).
json figure(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return std::strtod(fmt::format("{:.6g}", *v).c_str(), nullptr);
}

json count(const std::optional<std::uint64_t>& v) { return v ? json(*v) : json(nullptr); }

/// MiB to the thousandth (about a KiB).
double mib(double v) { return std::round(v * 1000) / 1000; }
double kib_to_mib(std::uint64_t kib) { return mib(static_cast<double>(kib) / 1024); }

/// One line. A party's error is cut to fit its slot, maybe inside a UTF-8 sequence: such
/// bytes are replaced, not thrown over.
std::string line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::string to_json(const result& r, const std::vector<std::string>& missing_systems) {
  const case_spec& c = r.spec;
  const measurement& m = r.median;
  json j;
  j["system"] = c.system;
  j["pattern"] = to_string(c.pattern);
  j["senders"] = c.senders;
  j["receivers"] = c.receivers;
  j["size_min"] = c.size_min;
  j["size_max"] = c.size_max;
  j["messages"] = c.messages;  // per sender (pingpong: round trips) of the measured runs
  // A case sized by time: the duration aimed at and the last calibration run (not reported
  // itself); null, and 0 runs, for a fixed count.
  const auto cal = [&](auto field) -> json { return r.calibration ? json(field(*r.calibration)) : json(nullptr); };
  j["target_s"] = cal([](const calibration& k) { return k.target_s; });
  j["calibration_runs"] = r.calibration ? r.calibration->runs : 0;
  j["calibration_messages"] = cal([](const calibration& k) { return k.messages; });
  j["calibration_s"] = r.calibration ? figure(r.calibration->seconds) : json(nullptr);
  // How long the measured count should run at the calibration's pace: what the sizing
  // promises, which unlike run_s does not depend on how busy the machine was meanwhile.
  j["planned_s"] = r.calibration && r.calibration->messages
                       ? figure(static_cast<double>(c.messages) * r.calibration->seconds /
                                static_cast<double>(r.calibration->messages))
                       : json(nullptr);
  j["mode"] = to_string(c.mode);
  j["api"] = to_string(c.api);
  j["wait"] = to_string(c.wait);
  j["status"] = to_string(r.status);
  j["repeats"] = r.repeats;
  j["run_s"] = figure(m.run_s);
  j["us_per_datum"] = figure(m.us_per_datum);
  j["us_per_datum_min"] = figure(r.us_min);
  j["us_per_datum_max"] = figure(r.us_max);
  j["msgs_per_s"] = figure(m.msgs_per_s);
  j["deliveries_per_s"] = figure(m.deliveries_per_s);
  j["gbytes_per_s"] = figure(m.gbytes_per_s);
  j["futex_calls_per_msg"] = figure(m.futex_calls_per_msg);
  j["ctxsw_per_msg"] = figure(m.ctxsw_per_msg);
  j["cpu_s"] = figure(m.cpu_s);
  j["lost"] = count(m.lost);
  j["errors"] = count(m.errors);
  j["p50_ns"] = figure(m.p50_ns);
  j["p99_ns"] = figure(m.p99_ns);
  j["p999_ns"] = figure(m.p999_ns);
  j["max_ns"] = figure(m.max_ns);
  j["segment_bytes"] = count(m.segment_bytes);
  j["max_rss_kib"] = count(m.max_rss_kib);
  j["note"] = r.note;
  j["error"] = m.error;
  j["missing_systems"] = missing_systems;
  return line(j);
}

std::string to_json(const memory_report& r) {
  json j;
  j["scenario"] = "memory";
  j["system"] = "coipc";
  j["status"] = to_string(r.status);
  j["channels"] = r.channels;
  j["messages"] = r.messages;
  j["size"] = r.size;
  j["max_message_size"] = r.max_message_size;
  j["segment_bytes"] = r.segment_bytes;
  j["segments_bytes"] = r.segments_bytes;
  j["shm_mib"] = mib(r.shm_mib());
  j["tmpfs_delta_mib"] = mib(r.tmpfs_delta_mib());
  j["rss_mib"] = mib(r.rss_mib());
  j["rss_anon_mib"] = kib_to_mib(r.rss_anon_kib);
  j["rss_shmem_mib"] = kib_to_mib(r.rss_shmem_kib);
  j["rss_file_mib"] = kib_to_mib(r.rss_file_kib);
  j["rss_before_mib"] = kib_to_mib(r.rss_before_kib);
  j["max_rss_kib"] = r.max_rss_kib;
  j["total_mib"] = mib(r.total_mib());
  j["seconds"] = figure(r.seconds);
  j["errors"] = r.errors;
  j["segment_prefix"] = r.prefix;
  j["error"] = r.error;
  return line(j);
}

}  // namespace bench
