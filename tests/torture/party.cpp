// coipc-torture: what every party shares: its command line and its way of dying on cue.
#include "party.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <string_view>

#include <unistd.h>

import coipc;

namespace torture {

namespace {

namespace fault = coipc::detail::fault;

// The hook's state: set once before the channel is opened, read by whichever thread
// reaches a fault point (the coroutine layer's waiter thread included).
std::optional<fault::point> armed_point;
die_point armed_as = die_point::after_tail_cas;
std::atomic<std::uint64_t> countdown{0};
report_header* armed_header = nullptr;
party_record* armed_record = nullptr;

std::optional<fault::point> library_point(die_point p) {
  switch (p) {
    case die_point::after_tail_cas: return fault::point::after_tail_cas;
    case die_point::before_publish: return fault::point::before_publish;
    case die_point::after_publish: return fault::point::after_publish;
    case die_point::after_death_check: return fault::point::after_death_check;
    case die_point::liveness_check: return fault::point::liveness_check;
    case die_point::before_waiter_add: return fault::point::before_waiter_add;
    case die_point::mid_payload: return std::nullopt;  // the sender's own, not the library's
  }
  return std::nullopt;
}

void die_hook(fault::point p) {
  if (!armed_point || p != *armed_point) return;
  // After the last kill the run must settle: a party armed then dies no more.
  if (armed_header->disarmed.load(std::memory_order_relaxed) != 0) return;
  if (countdown.fetch_sub(1, std::memory_order_relaxed) != 1) return;
  die_now(*armed_record, armed_as);
}

}  // namespace

void die_now(party_record& record, die_point p) noexcept {
  // The supervisor tells a death at the point from its own kills by this mark.
  record.fired_point.store(static_cast<std::uint32_t>(p) + 1, std::memory_order_release);
  std::raise(SIGKILL);
  std::abort();  // not reached
}

party_record* start_party(const party_config& cfg, report& rep) {
  party_record* record = rep.record(cfg.incarnation);
  if (!record) return nullptr;
  record->pid.store(::getpid(), std::memory_order_relaxed);
  if (cfg.die_at) {
    armed_header = &rep.header();
    armed_record = record;
    armed_as = *cfg.die_at;
    armed_point = library_point(*cfg.die_at);
    countdown.store(cfg.die_after, std::memory_order_relaxed);
    if (armed_point) fault::set_hook(&die_hook);
  }
  if (cfg.blind) fault::force_liveness_unknown(true);
  return record;
}

bool mid_payload_due(const party_config& cfg, const report_header& header) noexcept {
  if (cfg.die_at != die_point::mid_payload) return false;
  if (header.disarmed.load(std::memory_order_relaxed) != 0) return false;
  return countdown.fetch_sub(1, std::memory_order_relaxed) == 1;
}

std::optional<party_config> parse_party(const std::vector<std::string>& args, std::string& error) {
  party_config c;
  auto role_of = [](const std::string& r) {
    return r == "sender" ? party_role::sender : r == "receiver" ? party_role::receiver : party_role::none;
  };
  auto own = [&](const std::string& a, const std::string& val, std::string& bad) {
    if (a == "--blind") {
      c.blind = val == "1";
    } else if (a == "--die-at") {
      const auto colon = val.find(':');
      const auto p = parse_die_point(std::string_view(val).substr(0, colon));
      if (!p || colon == std::string::npos) {
        bad = "--die-at wants POINT:N, got " + val;
        return true;
      }
      c.die_at = p;
      c.die_after = std::stoull(val.substr(colon + 1));
      if (c.die_after == 0) bad = "--die-at: N counts from 1";
    } else {
      return false;
    }
    return true;
  };
  if (!parse_party_line(args, "party", role_of, own, c, error)) return std::nullopt;
  return c;
}

}  // namespace torture
