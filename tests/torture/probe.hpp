// coipc-torture: the supervisor's own endpoints on the channel under test.
//
// The supervisor uses the library only to ask what the parties cannot tell it: how many
// receivers the channel counts (from a sender endpoint, which holds nothing back), to send
// the end-of-run sentinel once every sender is gone, and at the very end to take every
// slot at once (a slot leaked by a dead party could not be taken).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "variant.hpp"

namespace torture {

class channel_probe {
 public:
  virtual ~channel_probe() = default;
  /// Opens a sender endpoint (on a route, only while no live sender holds its one slot).
  virtual bool open_sender(std::string& error) = 0;
  virtual void close_sender() = 0;
  /// receiver_count() of the open sender endpoint; `blind`: with liveness checks that learn
  /// nothing from kill() or /proc (as under hidepid), so that only the slot locks tell.
  virtual std::uint32_t receiver_count(bool blind) = 0;
  /// Sends the end-of-run sentinel (incarnation 0) from the open sender endpoint.
  virtual bool send_sentinel(std::string& error) = 0;
  /// The ring's tail and every owned receiver slot's reader, as the shared memory says now.
  struct readers {
    std::uint64_t tail_end = 0;
    struct reader {
      std::uint32_t pid;
      std::uint64_t position;
      /// A published frame lies between its position and the tail (not just claims whose
      /// senders died before publishing: nothing wakes a reader for those, nor need it).
      bool message_waiting;
      /// The frame at its very position is published (nothing holds the reader back).
      bool message_at_position;
      std::string frames;  ///< the frames from position to tail, for a failure report
    };
    std::vector<reader> receivers;
  };
  /// nullopt (with why) when the segment cannot be inspected.
  virtual std::optional<readers> read_positions(std::string& error) = 0;
  /// Takes every sender and receiver slot at once, checks receiver_count() while holding
  /// them, and leaves; false (with why) when any slot cannot be taken.
  virtual bool take_every_slot(std::string& error) = 0;
};

std::unique_ptr<channel_probe> make_probe(const variant& v, const std::string& channel);

/// Removes the channel's segment (a missing one is fine).
void remove_channel(const std::string& channel);

/// Whether the library was built with its fault-injection points.
bool fault_points_compiled_in();

}  // namespace torture
