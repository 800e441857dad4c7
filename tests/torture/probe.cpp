// coipc-torture: the supervisor's endpoints (see probe.hpp).
#include "probe.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "support/payload.hpp"

import coipc;

#include "channel_setup.hpp"

namespace torture {

namespace {

template <class T, coipc::detail::channel_kind K>
class probe final : public channel_probe {
 public:
  probe(const variant& v, std::string channel) : v_(v), channel_(std::move(channel)), options_(options_for(v)) {}

  bool open_sender(std::string& error) override {
    std::error_code ec;
    tx_.emplace(channel_, coipc::role::sender, options_, ec);
    if (ec) {
      error = "open as sender: " + coipc::last_error_message();
      tx_.reset();
      return false;
    }
    return true;
  }

  void close_sender() override { tx_.reset(); }

  std::uint32_t receiver_count(bool blind) override {
    if (!tx_) return 0;
    coipc::detail::fault::force_liveness_unknown(blind);
    const std::uint32_t n = tx_->receiver_count();
    coipc::detail::fault::force_liveness_unknown(false);
    return n;
  }

  std::optional<readers> read_positions(std::string& error) override {
    namespace cd = coipc::detail;
    if (!seg_) {
      std::error_code ec;
      coipc::segment s = coipc::segment::inspect(channel_, ec);
      if (ec) {
        error = "inspect: " + coipc::last_error_message();
        return std::nullopt;
      }
      seg_.emplace(std::move(s));
    }
    const coipc::segment_geometry g = seg_->header().geometry;
    const cd::ring_layout layout = cd::ring_layout::of(g);
    std::span<std::byte> body = seg_->body();
    if (layout.body_size > body.size()) {
      error = "the segment is smaller than its layout";
      return std::nullopt;
    }
    readers out;
    // The tail first: senders are paused, so it stays; a reader that has everything is there.
    const auto& ctl = *reinterpret_cast<const cd::ring_control*>(body.data());
    out.tail_end = cd::tail_word::end(ctl.tail.load(std::memory_order_acquire));
    const auto* slots = reinterpret_cast<const cd::receiver_slot*>(body.data() + layout.receivers_offset);
    for (std::uint32_t i = 0; i < g.max_receivers; ++i) {
      const std::uint64_t o = slots[i].owner.load(std::memory_order_acquire);
      if (o == 0 || (o & cd::owner_token::transient_bit)) continue;
      const std::uint64_t position = slots[i].position.load(std::memory_order_acquire);
      std::string frames;
      const bool waiting = published_between(body, layout, position, out.tail_end, frames);
      const auto* entries = reinterpret_cast<const cd::frame_entry*>(body.data() + layout.entries_offset);
      const std::uint64_t e = entries[position & (layout.units - 1)].stamp.load(std::memory_order_acquire);
      const bool at_position = position < out.tail_end &&
                               cd::stamp::tag(e) == cd::stamp::tag_of_lap(position / layout.units) &&
                               cd::stamp::state(e) == cd::frame_state::published;
      out.receivers.push_back({cd::owner_token::process(o).pid, position, waiting, at_position, std::move(frames)});
    }
    return out;
  }

  // Walks the frames from `from` to `to` by their stamps. A stamp of an older lap is the
  // latest claim, not yet recorded: it reaches the tail, so nothing is published after it.
  static bool published_between(std::span<std::byte> body, const coipc::detail::ring_layout& layout,
                                std::uint64_t from, std::uint64_t to, std::string& frames) {
    namespace cd = coipc::detail;
    static constexpr const char* state_names[] = {"claimed", "published", "padding", "abandoned"};
    const auto* entries = reinterpret_cast<const cd::frame_entry*>(body.data() + layout.entries_offset);
    for (std::uint64_t p = from; p < to;) {
      const std::uint64_t e = entries[p & (layout.units - 1)].stamp.load(std::memory_order_acquire);
      const bool this_lap = cd::stamp::tag(e) == cd::stamp::tag_of_lap(p / layout.units);
      frames += " [" + std::to_string(p) + ": " +
                (this_lap ? std::string(state_names[static_cast<unsigned>(cd::stamp::state(e))]) + " by " +
                                std::to_string(cd::stamp::sender(e)) + ", " + std::to_string(cd::stamp::units(e)) +
                                " units]"
                          : std::string("an older lap's stamp: an unrecorded claim]"));
      if (!this_lap) return false;
      if (cd::stamp::state(e) == cd::frame_state::published) return true;
      const std::uint32_t units = cd::stamp::units(e);
      if (units == 0) return true;  // not a frame: call it waiting, so that the check looks
      p += units;
    }
    return false;
  }

  bool send_sentinel(std::string& error) override {
    if (!tx_) {
      error = "no sender endpoint";
      return false;
    }
    std::error_code ec;
    bool ok;
    if constexpr (std::is_same_v<T, coipc::bytes>) {
      std::byte buf[coipc_payload::header_size];
      coipc_payload::fill(buf, 0, 0, tx_->sender_id());
      ok = tx_->send_for(coipc::byte_view(buf, sizeof buf), std::chrono::seconds(10), ec);
    } else {
      T value;
      coipc_payload::fill(std::as_writable_bytes(std::span(&value, 1)), 0, 0, tx_->sender_id());
      ok = tx_->send_for(value, std::chrono::seconds(10), ec);
    }
    if (!ok) error = "sentinel: " + (ec ? coipc::last_error_message() : std::string("no space within 10 s"));
    return ok;
  }

  bool take_every_slot(std::string& error) override {
    const unsigned senders = v_.kind == kind_t::route ? 1 : max_senders;
    std::vector<coipc::basic_channel<T, K>> held;
    held.reserve(senders + max_receivers);
    std::error_code ec;
    for (unsigned i = 0; i < senders; ++i) {
      held.emplace_back(channel_, coipc::role::sender, options_, ec);
      if (ec) {
        error = "sender slot " + std::to_string(i + 1) + " of " + std::to_string(senders) +
                " cannot be taken: " + coipc::last_error_message();
        return false;
      }
    }
    for (unsigned i = 0; i < max_receivers; ++i) {
      held.emplace_back(channel_, coipc::role::receiver, options_, ec);
      if (ec) {
        error = "receiver slot " + std::to_string(i + 1) + " of " + std::to_string(max_receivers) +
                " cannot be taken: " + coipc::last_error_message();
        return false;
      }
    }
    if (const auto n = held.front().receiver_count(); n != max_receivers) {
      error = "holding every receiver slot, receiver_count() says " + std::to_string(n);
      return false;
    }
    return true;
  }

 private:
  variant v_;
  std::string channel_;
  coipc::channel_options options_;
  std::optional<coipc::basic_channel<T, K>> tx_;
  std::optional<coipc::segment> seg_;  ///< the channel's segment, mapped for read_positions
};

}  // namespace

std::unique_ptr<channel_probe> make_probe(const variant& v, const std::string& channel) {
  return with_channel_types(v, [&]<class T, coipc::detail::channel_kind K>() -> std::unique_ptr<channel_probe> {
    return std::make_unique<probe<T, K>>(v, channel);
  });
}

void remove_channel(const std::string& channel) {
  std::error_code ec;
  coipc::remove_segment(channel, ec);
}

bool fault_points_compiled_in() { return coipc::detail::fault::enabled; }

}  // namespace torture
