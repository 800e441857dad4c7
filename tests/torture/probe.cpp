// coipc-torture: the supervisor's endpoints (see probe.hpp).
#include "probe.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "payload.hpp"

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

  bool send_sentinel(std::string& error) override {
    if (!tx_) {
      error = "no sender endpoint";
      return false;
    }
    std::error_code ec;
    bool ok;
    if constexpr (std::is_same_v<T, coipc::bytes>) {
      std::byte buf[header_size];
      fill_message(buf, 0, 0, tx_->sender_id());
      ok = tx_->send_for(coipc::byte_view(buf, sizeof buf), std::chrono::seconds(10), ec);
    } else {
      T value;
      fill_message(std::as_writable_bytes(std::span(&value, 1)), 0, 0, tx_->sender_id());
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
