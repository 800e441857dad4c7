// coipc-torture: the receiver-side stream checks (see invariants.hpp).
#include "invariants.hpp"

#include <string>

#include "report.hpp"
#include "support/payload.hpp"

namespace torture {

// Failure descriptions (strf) are built only when a check fails: never on the hot path.
namespace {

using ull = unsigned long long;

}  // namespace

stream_checker::stream_checker(party_log& log, const report& rep, bool block_policy, std::uint64_t connected_ns)
    : log_(log), rep_(rep), block_(block_policy), connected_ns_(connected_ns), streams_(rep.records() + 1) {}

bool stream_checker::on_message(std::span<const std::byte> m, std::uint32_t library_slot) {
  party_record& me = log_.record();
  // ---- intact: the checksum first; nothing else in a broken frame can be trusted ----
  if (!coipc_payload::intact(m)) {
    const coipc_payload::header h =
        m.size() >= coipc_payload::header_size ? coipc_payload::header_of(m) : coipc_payload::header{};
    log_.fail(invariant::intact,
              strf("torn or corrupt frame of %zu B (it claims incarnation %llu, seq %llu, length %u)",
                     m.size(), static_cast<ull>(h.id), static_cast<ull>(h.seq), h.length));
    log_.count(invariant::intact);
    return true;
  }
  const coipc_payload::header h = coipc_payload::header_of(m);
  if (h.id == 0) return false;  // the supervisor's end-of-run sentinel
  party_record* sender = rep_.record(h.id);
  const bool known = sender && sender->role.load(std::memory_order_relaxed) ==
                                   static_cast<std::uint32_t>(party_role::sender);
  if (!known || (library_slot != 0 && library_slot != h.slot)) {
    log_.fail(invariant::intact,
              strf("frame of %zu B from %s incarnation %llu, slot %u (the library says slot %u)",
                     m.size(), known ? "sender" : "unknown", static_cast<ull>(h.id), h.slot,
                     library_slot));
    log_.count(invariant::intact);
    return true;
  }
  log_.count(invariant::intact);
  ++received_;
  bump(me.received);

  // ---- order, duplicates, gaps, per sender incarnation ----
  sender_stream& s = streams_[h.id];
  if (!s.seen) {
    s.seen = true;
    s.first = s.last = h.seq;
    s.received = 1;
    // A sender that started opening after this receiver had connected published all its
    // messages after that: under block the first one seen must be its first one.
    if (block_ && sender->pre_open_ns.load(std::memory_order_relaxed) > connected_ns_) {
      log_.count(invariant::no_gap);
      if (h.seq != 0) {
        log_.fail(invariant::no_gap,
                  strf("first message seen from incarnation %llu (opened after this receiver "
                         "connected) is seq %llu, not 0",
                         static_cast<ull>(h.id), static_cast<ull>(h.seq)));
      }
    }
    return true;
  }
  ++s.received;
  const bool increasing = h.seq > s.last;
  // Under block every seq in [first, last] was received already, so any seq <= last is a
  // second delivery; under overwrite an older seq may be one that was skipped, so only a
  // repeat of the last one is surely a second delivery.
  const bool twice = block_ ? h.seq <= s.last : h.seq == s.last;
  log_.count(invariant::increasing);
  log_.count(invariant::no_duplicate);
  if (!increasing) {
    log_.fail(invariant::increasing, strf("incarnation %llu: seq %llu after seq %llu",
                                            static_cast<ull>(h.id), static_cast<ull>(h.seq),
                                            static_cast<ull>(s.last)));
  }
  if (twice) {
    log_.fail(invariant::no_duplicate, strf("incarnation %llu: seq %llu received again (last %llu)",
                                              static_cast<ull>(h.id), static_cast<ull>(h.seq),
                                              static_cast<ull>(s.last)));
  }
  if (increasing) {
    if (block_) {
      log_.count(invariant::no_gap);
      if (h.seq != s.last + 1) {
        log_.fail(invariant::no_gap, strf("incarnation %llu: seq %llu after seq %llu (%llu missing)",
                                            static_cast<ull>(h.id), static_cast<ull>(h.seq),
                                            static_cast<ull>(s.last), static_cast<ull>(h.seq - s.last - 1)));
      }
    } else {
      s.gaps += h.seq - s.last - 1;
    }
    s.last = h.seq;
  }
  return true;
}

void stream_checker::on_end(std::uint64_t lost) {
  party_record& me = log_.record();
  me.lost.store(lost, std::memory_order_relaxed);
  const report_header& hdr = rep_.header();
  if (hdr.senders_done.load(std::memory_order_acquire) != 1) {
    log_.fail(invariant::no_errors, "the end-of-run sentinel came before the senders were done");
    return;
  }
  std::uint64_t gaps_seen = 0;   // lower bound of lost(): gaps inside sender incarnations...
  std::uint64_t window = 0;      // upper bound of received + lost: all published in our life
  std::uint64_t uncertain = 0;   // ...plus one per sender killed at a random instant
  for (std::uint64_t id = 1; id <= rep_.records(); ++id) {
    const party_record* s = rep_.record(id);
    if (s->role.load(std::memory_order_relaxed) != static_cast<std::uint32_t>(party_role::sender)) continue;
    const sender_stream& st = streams_[id];
    const std::uint64_t sent = s->sent.load(std::memory_order_relaxed);
    // A sender killed at a random instant may have published one message more than it
    // counted (killed between the publish and the count); killed at after_publish, it did.
    // Killed at another fault point, or exited, its count is exact.
    const auto ended = static_cast<end_kind>(s->ended.load(std::memory_order_relaxed));
    const std::uint64_t maybe_one_more = ended == end_kind::killed_random || ended == end_kind::died_other ||
                                                 ended == end_kind::killed_published
                                             ? 1
                                             : 0;
    const bool after_me = s->pre_open_ns.load(std::memory_order_relaxed) > connected_ns_;
    if (block_) {
      if (after_me) {
        // All of it: messages 0 .. sent-1 (and perhaps one more).
        const bool ok = st.received >= sent && st.received <= sent + maybe_one_more;
        log_.count(invariant::block_complete);
        if (!ok) {
          log_.fail(invariant::block_complete,
                    strf("incarnation %llu sent %llu%s after this receiver connected; it got %llu",
                         static_cast<ull>(id), static_cast<ull>(sent), maybe_one_more ? " (+1?)" : "",
                         static_cast<ull>(st.received)));
        }
      } else if (st.seen) {
        // Opened before us: from the first message we saw (no gap after it, checked as
        // they came) up to its very last one.
        const bool ok = st.last + 1 >= sent && st.last + 1 <= sent + maybe_one_more;
        log_.count(invariant::block_complete);
        if (!ok) {
          log_.fail(invariant::block_complete,
                    strf("incarnation %llu sent %llu%s messages; the last this receiver got is seq %llu",
                         static_cast<ull>(id), static_cast<ull>(sent), maybe_one_more ? " (+1?)" : "",
                         static_cast<ull>(st.last)));
        }
      }
    } else {
      gaps_seen += st.gaps;
      if (after_me && st.seen) gaps_seen += st.first;  // its head, lost before we saw it
      const std::uint64_t end = s->end_ns.load(std::memory_order_relaxed);
      if (end == 0 || end >= connected_ns_) {
        window += sent;
        uncertain += maybe_one_more;
      }
    }
  }
  if (!block_) {
    log_.count(invariant::overwrite_accounting);
    if (lost < gaps_seen) {
      log_.fail(invariant::overwrite_accounting,
                strf("lost() is %llu but %llu messages were skipped inside sender streams",
                       static_cast<ull>(lost), static_cast<ull>(gaps_seen)));
    }
    const bool within = received_ + lost <= window + uncertain;
    log_.count(invariant::overwrite_accounting);
    if (!within) {
      log_.fail(invariant::overwrite_accounting,
                strf("received %llu + lost %llu > %llu (+%llu) published during this receiver's life",
                       static_cast<ull>(received_), static_cast<ull>(lost), static_cast<ull>(window),
                       static_cast<ull>(uncertain)));
    }
  }
}

}  // namespace torture
