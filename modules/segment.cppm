// coipc:segment — named shared-memory segments: create-or-open, header, validation, removal.
//
// A segment is one POSIX shared-memory object named "coipc.<name>", laid out as
//
//     [ segment_header (256 B, immutable after creation) ][ body (the ring's memory) ]
//
// The header says what the segment is (magic, layout version), what it carries (the
// payload type's fingerprint) and its geometry. Everything read from shared memory is
// untrusted: a segment is only handed out after its header has been checked against the
// file's real size, its checksum and the caller's expectations, and every mismatch is
// reported naming both sides.
//
// Creation is race-free: the creator builds the whole segment under no name and then
// publishes it atomically (see platform::shm_publish). When several processes race, exactly
// one publication wins; the others discard theirs and open the winner's. A name is never
// visible before its segment is initialized, so no opener ever waits on a half-built one.
module;
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>
export module coipc:segment;
import :error;
import :platform;

export namespace coipc {

/// Bumped on every change to any struct that lives in shared memory.
inline constexpr std::uint32_t layout_version = 1;

/// The longest channel name accepted.
inline constexpr std::size_t max_name_length = 200;

// ---- Type fingerprint ------------------------------------------------------------------

/// What a segment carries: the payload type's size, alignment and a stable name. Two
/// processes may share a channel only when their fingerprints are equal.
struct type_fingerprint {
  std::uint32_t size = 0;       ///< sizeof(T); 0 for variable-length bytes
  std::uint32_t alignment = 1;  ///< alignof(T)
  std::uint64_t name_hash = 0;  ///< FNV-1a of the full name
  char name[112] = {};          ///< the name, NUL-terminated (truncated when longer)

  friend bool operator==(const type_fingerprint& a, const type_fingerprint& b) noexcept {
    return a.size == b.size && a.alignment == b.alignment && a.name_hash == b.name_hash;
  }
};
static_assert(std::is_standard_layout_v<type_fingerprint> && sizeof(type_fingerprint) == 128);

namespace detail {
constexpr std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 14695981039346656037ull) {
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

template <class T>
constexpr std::string_view pretty_type_name() {
  // clang: "std::string_view coipc::detail::pretty_type_name() [T = ns::Reading]"
  std::string_view p = __PRETTY_FUNCTION__;
  auto begin = p.find("T = ");
  auto end = p.rfind(']');
  if (begin == std::string_view::npos || end == std::string_view::npos) return p;
  return p.substr(begin + 4, end - begin - 4);
}
}  // namespace detail

/// The stable name of a payload type. Specialize it to give a type a name that does not
/// depend on the compiler's spelling (for peers built with different compilers).
template <class T>
struct type_name {
  static constexpr std::string_view value = detail::pretty_type_name<T>();
};

constexpr type_fingerprint make_fingerprint(std::string_view name, std::uint32_t size,
                                            std::uint32_t alignment) {
  type_fingerprint f;
  f.size = size;
  f.alignment = alignment;
  f.name_hash = detail::fnv1a(name);
  std::size_t n = std::min(name.size(), sizeof f.name - 1);
  for (std::size_t i = 0; i < n; ++i) f.name[i] = name[i];
  return f;
}

template <class T>
constexpr type_fingerprint fingerprint_of() {
  return make_fingerprint(type_name<T>::value, sizeof(T), alignof(T));
}

/// The fingerprint of variable-length byte messages.
constexpr type_fingerprint bytes_fingerprint() { return make_fingerprint("bytes", 0, 1); }

// ---- Geometry -----------------------------------------------------------------------------

/// The shape of what the body holds. Set by the creator; an opener must ask for the same.
struct segment_geometry {
  std::uint32_t kind = 0;              ///< what the body is (the ring layer's enum; 0 = raw)
  std::uint32_t overflow_policy = 0;   ///< the ring layer's enum
  std::uint64_t ring_bytes = 0;        ///< data ring capacity
  std::uint64_t max_message_size = 0;  ///< largest payload
  std::uint32_t max_receivers = 0;
  std::uint32_t max_senders = 0;
  std::uint64_t body_size = 0;         ///< bytes after the header

  friend bool operator==(const segment_geometry&, const segment_geometry&) = default;
};
static_assert(std::is_standard_layout_v<segment_geometry> && sizeof(segment_geometry) == 40);

// ---- Header -------------------------------------------------------------------------------

/// The first 256 bytes of every segment. Written once by the creator before the segment is
/// published under its name; never modified afterwards.
struct segment_header {
  static constexpr std::uint64_t expected_magic = 0x4745'5343'5049'4f43ull;  // "COIPCSEG"

  std::uint64_t magic;
  std::uint32_t layout_version;
  std::uint32_t header_size;
  std::uint64_t total_size;           ///< header + body: the file's size
  std::uint32_t creator_pid;
  std::uint32_t reserved0;
  std::uint64_t creator_start_time;
  type_fingerprint type;
  segment_geometry geometry;
  std::uint8_t reserved1[40];        // zero; room for later fields
  std::uint64_t checksum;             ///< FNV-1a of every byte before this field
};
static_assert(std::is_standard_layout_v<segment_header>);
static_assert(std::is_trivially_copyable_v<segment_header>);
static_assert(sizeof(segment_header) == 256);
static_assert(offsetof(segment_header, type) == 40);
static_assert(offsetof(segment_header, geometry) == 168);
static_assert(offsetof(segment_header, checksum) == 248);

// ---- Options ------------------------------------------------------------------------------

enum class open_mode {
  create_or_open,  ///< open it, or create it when it does not exist (the default)
  open_only,       ///< fail with errc::not_found when it does not exist
  create_only,     ///< fail with errc::already_exists when it exists
};

/// Who may open a segment this process creates.
enum class access : unsigned {
  owner = 0600,     ///< the creating user only (the default)
  group = 0660,     ///< and the creating user's group
  everyone = 0666,  ///< every user
};

struct segment_options {
  open_mode mode = open_mode::create_or_open;
  access permissions = access::owner;
};

/// Fills a new segment's body before the segment is published. The body is zeroed.
using body_initializer = std::function<void(std::span<std::byte> body)>;

// ---- Names --------------------------------------------------------------------------------

/// Checks a channel name: 1 to max_name_length characters from [A-Za-z0-9._-], not
/// starting with '.', without "..". Fails with errc::invalid_name.
bool validate_name(std::string_view name, std::error_code& ec);

/// The shared-memory object name of a channel: "coipc.<name>".
std::string object_name_of(std::string_view name);

// ---- The segment --------------------------------------------------------------------------

/// One mapping of a named segment, with the file descriptor it was mapped from. Move-only;
/// unmaps and closes on destruction (the segment itself stays until remove_segment()).
/// The descriptor stays open for the mapping's lifetime: its open file description holds
/// this mapping's slot locks (platform::take_slot_lock), which the kernel releases when it
/// is closed, by reset() or by the process's death.
class segment {
 public:
  segment() noexcept = default;
  segment(segment&& other) noexcept;
  segment& operator=(segment&& other) noexcept;
  segment(const segment&) = delete;
  segment& operator=(const segment&) = delete;
  ~segment();

  /// Opens or creates the segment `name` carrying `type` with `geometry` (whose body_size
  /// says how large the body is). `init` fills the body of a segment this call creates.
  static segment open(std::string_view name, const type_fingerprint& type,
                      const segment_geometry& geometry, const segment_options& options,
                      const body_initializer& init, std::error_code& ec);
  static segment open(std::string_view name, const type_fingerprint& type,
                      const segment_geometry& geometry, const segment_options& options,
                      const body_initializer& init);

  /// Opens an existing segment of any type and geometry (for inspection tools). Its header
  /// is validated like open's.
  static segment inspect(std::string_view name, std::error_code& ec);

  explicit operator bool() const noexcept { return base_ != nullptr; }
  bool created() const noexcept { return created_; }
  const std::string& name() const noexcept { return name_; }
  const segment_header& header() const noexcept {
    return *static_cast<const segment_header*>(base_);
  }
  std::span<std::byte> body() const noexcept {
    return {static_cast<std::byte*>(base_) + sizeof(segment_header),
            size_ - sizeof(segment_header)};
  }
  /// The descriptor the mapping came from (close-on-exec; -1 when there is no mapping).
  /// Its own open file description: no other segment object shares it.
  int fd() const noexcept { return fd_; }

 private:
  void reset() noexcept;

  void* base_ = nullptr;
  std::size_t size_ = 0;
  int fd_ = -1;
  bool created_ = false;
  std::string name_;
};

/// Removes the segment's name. Processes that have it open keep using it; new opens create
/// a new one. Fails with errc::not_found when there is no such segment.
bool remove_segment(std::string_view name, std::error_code& ec);
void remove_segment(std::string_view name);

/// The names of the segments coipc owns on this machine, sorted.
std::vector<std::string> list_segments();

/// A human-readable description of a fingerprint: "`Reading` (24 B, align 8)".
std::string describe(const type_fingerprint& type);

}  // namespace coipc
