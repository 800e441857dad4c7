// The self-checking message itself (support/payload.hpp): every other test, coipc-torture
// and coipc-bench rest on its checks catching what they are meant to catch.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "support/payload.hpp"

namespace {

std::vector<std::byte> filled(std::size_t size, std::uint64_t id, std::uint64_t seq, std::uint32_t slot) {
  std::vector<std::byte> m(size);
  coipc_payload::fill(m, id, seq, slot);
  return m;
}

}  // namespace

TEST_CASE("payload: a whole message checks alone and any changed byte fails it") {
  for (std::size_t size : {coipc_payload::header_size, coipc_payload::header_size + 1, std::size_t{300}}) {
    auto m = filled(size, 7, 123456789, 3);
    REQUIRE(coipc_payload::intact(m));
    REQUIRE(coipc_payload::matches(m, 7, 123456789, 3));
    const auto h = coipc_payload::header_of(m);
    CHECK(h.id == 7);
    CHECK(h.seq == 123456789);
    CHECK(h.length == size);
    CHECK(h.slot == 3);
    for (std::size_t i = 0; i < size; ++i) {
      m[i] ^= std::byte{0x10};
      CHECK_FALSE(coipc_payload::intact(m));
      m[i] ^= std::byte{0x10};
    }
    // Too short or too long for its length field.
    CHECK_FALSE(coipc_payload::intact(std::span(m).first(size - 1)));
    m.push_back(std::byte{0});
    CHECK_FALSE(coipc_payload::intact(m));
  }
}

TEST_CASE("payload: a frame torn between two messages fails its checksum") {
  const auto a = filled(200, 1, 10, 0), b = filled(200, 1, 11, 0);
  for (std::size_t cut : {std::size_t{8}, coipc_payload::header_size, std::size_t{100}, std::size_t{199}}) {
    std::vector<std::byte> torn(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(cut));
    torn.insert(torn.end(), b.begin() + static_cast<std::ptrdiff_t>(cut), b.end());
    CHECK_FALSE(coipc_payload::intact(torn));
  }
}

TEST_CASE("payload: sizes below the header down to 0 are checked by sender and sequence") {
  for (std::size_t size = 0; size <= coipc_payload::header_size + 2; ++size) {
    const auto m = filled(size, 4, 99, 4);
    CHECK(coipc_payload::matches(m, 4, 99, 4));
    if (size == 0) continue;
    CHECK_FALSE(coipc_payload::matches(m, 4, 100, 4));  // from 1 byte on: another seq differs
    if (size > 8) CHECK_FALSE(coipc_payload::matches(m, 5, 99, 4));
  }
}

TEST_CASE("payload: a whole message carries the stamp's tag") {
  const auto m = filled(64, 2, 77, 2);
  const auto t = coipc_payload::read_tag(m.data());
  CHECK(t.id == 2);
  CHECK(t.seq == 77);
  CHECK(t.check == coipc_payload::check_byte(2, 77, 64));
}
