// hamt/fuzz/fuzz_input.h: what the differential decoders of hamt::Map (operations.h) and
// hamt::PersistentMap (persistent_operations.h) share: the byte reader, the setup that the first
// bytes of an input decode to, the adversarial hash, the value types and the failure stream.
#ifndef HAMT_ALLOC_HAMT_FUZZ_FUZZ_INPUT_H_
#define HAMT_ALLOC_HAMT_FUZZ_FUZZ_INPUT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <utility>

namespace hamt::fuzz {

using SmallKey = std::uint16_t;

inline constexpr std::array<std::size_t, 8> kKeyRanges = {1, 3, 8, 33, 64, 100, 256, 1000};

// ---- Input ----

class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  // 0 once the input is used up: every byte string decodes to something.
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint64_t u64() {
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value |= std::uint64_t{byte()} << (8 * i);
    return value;
  }
  std::size_t position() const { return pos_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// ---- The adversarial hash ----

enum class HashMode : std::uint8_t {
  kTable,          // table[key % 8]: at most 8 hashes, deep shared prefixes, big collision nodes
  kConstant,       // table[0] for every key: one collision node under a 13-node chain
  kIdentity,       // the key itself: shallow and dense
  kHighBits,       // mix(key) << 52: only the last levels differ, long single-child chains
  kLowBits,        // mix(key) & 0xff: two levels, then chains down to collision nodes
  kTableLastLevel, // table[key % 8] ^ ((key / 8 % 16) << 60): differences at the 4-bit level
  kTwoValues,      // table[key & 1]: two collision nodes (or one, if the two are equal)
  kMixed,          // mix(key): a good hash, for contrast
};
inline constexpr int kHashModes = 8;

inline const char* HashModeName(HashMode mode) {
  static constexpr const char* kNames[] = {"table",          "constant",   "identity", "high-bits",
                                           "low-bits",       "table-last-level", "two-values",
                                           "mixed"};
  return kNames[static_cast<int>(mode)];
}

struct AdversarialHash {
  HashMode mode = HashMode::kIdentity;
  std::array<std::uint64_t, 8> table{};

  static std::uint64_t Mix(std::uint64_t x) {  // splitmix64's finalizer
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
  }

  std::size_t operator()(SmallKey key) const {
    switch (mode) {
      case HashMode::kTable:
        return table[key % 8];
      case HashMode::kConstant:
        return table[0];
      case HashMode::kIdentity:
        return key;
      case HashMode::kHighBits:
        return Mix(key) << 52;
      case HashMode::kLowBits:
        return Mix(key) & 0xff;
      case HashMode::kTableLastLevel:
        return table[key % 8] ^ (std::uint64_t{key / 8u % 16u} << 60);
      case HashMode::kTwoValues:
        return table[key & 1];
      case HashMode::kMixed:
        return Mix(key);
    }
    return 0;
  }
};

// ---- Value types ----

// A value that knows whether it is alive. Construction increments a global count, destruction
// decrements it and poisons the object; every read checks the poison. The fuzzer is
// single-threaded, so plain globals do.
class Tracked {
 public:
  explicit Tracked(std::uint32_t id) : id_(id) { ++live_; }
  Tracked(const Tracked& other) : id_(other.id()) { ++live_; }
  Tracked(Tracked&& other) noexcept : id_(other.id()) {
    ++live_;
    other.id_ = kMovedFrom;
  }
  Tracked& operator=(const Tracked& other) {
    Check("copy-assigned to");
    id_ = other.id();
    return *this;
  }
  Tracked& operator=(Tracked&& other) noexcept {
    Check("move-assigned to");
    id_ = other.id();
    other.id_ = kMovedFrom;
    return *this;
  }
  ~Tracked() {
    Check("destroyed");
    magic_ = kDead;
    --live_;
  }

  std::uint32_t id() const {
    Check("read");
    return id_;
  }

  // Equal ids (hamt::PersistentMap's operator== compares values); both are read, so checked.
  friend bool operator==(const Tracked& a, const Tracked& b) { return a.id() == b.id(); }

  static long live() { return live_; }
  // The first misuse seen since the last call, or "".
  static std::string TakeError() { return std::exchange(error_, {}); }
  static void ResetForRun() {
    live_ = 0;
    error_.clear();
  }

 private:
  static constexpr std::uint32_t kAlive = 0x600d600d;
  static constexpr std::uint32_t kDead = 0xdead0bad;
  static constexpr std::uint32_t kMovedFrom = 0xffffffff;

  void Check(const char* what) const {
    if (magic_ != kAlive && error_.empty()) {
      std::ostringstream out;
      out << "Tracked value " << what << " while not alive (magic 0x" << std::hex << magic_
          << "): a destroyed or never-constructed value";
      error_ = out.str();
    }
  }

  std::uint32_t magic_ = kAlive;
  std::uint32_t id_;
  static inline long live_ = 0;
  static inline std::string error_;
};

// ValueTraits<V>: V from a value id, and whether a V holds a given id.
template <class V>
struct ValueTraits;

template <>
struct ValueTraits<std::uint64_t> {
  static constexpr const char* kName = "uint64";
  static std::uint64_t Make(std::uint32_t id) { return std::uint64_t{id} * 0x9e3779b97f4a7c15u; }
  static bool Holds(const std::uint64_t& value, std::uint32_t id) { return value == Make(id); }
};

template <>
struct ValueTraits<std::string> {
  static constexpr const char* kName = "string";
  // Lengths on both sides of libstdc++'s 15-character SSO buffer.
  static std::string Make(std::uint32_t id) {
    static constexpr std::size_t kPadding[] = {0, 2, 9, 14, 15, 40};
    std::string value = std::to_string(id);
    value.append(kPadding[id % 6], static_cast<char>('a' + id % 26));
    return value;
  }
  static bool Holds(const std::string& value, std::uint32_t id) { return value == Make(id); }
};

template <>
struct ValueTraits<Tracked> {
  static constexpr const char* kName = "tracked";
  static Tracked Make(std::uint32_t id) { return Tracked(id); }
  static bool Holds(const Tracked& value, std::uint32_t id) { return value.id() == id; }
};


// ---- Setup ----

// What the first bytes of an input choose (operations.h documents the format).
struct Setup {
  AdversarialHash hash;
  int value_type;  // 0: uint64, 1: std::string, 2: Tracked
  int period;      // full checks every `period` operations
  std::size_t key_range;
  bool persistent;  // hamt::PersistentMap (persistent_operations.h) instead of hamt::Map
};

inline Setup ReadSetup(ByteReader& in) {
  Setup setup;
  const std::uint8_t first = in.byte();
  setup.hash.mode = static_cast<HashMode>(first % kHashModes);
  setup.value_type = (first >> 3) % 3;
  static constexpr int kPeriods[] = {1, 4, 16, 64};
  setup.period = kPeriods[(first >> 5) & 3];
  const std::uint8_t range = in.byte();
  setup.key_range = kKeyRanges[range % kKeyRanges.size()];
  setup.persistent = (range >> 3) & 1;
  const std::uint64_t base = in.u64();
  for (std::uint64_t& entry : setup.hash.table) {
    const std::uint64_t delta = in.byte();
    const unsigned shift = in.byte() % 64;
    entry = base ^ (delta << shift);
  }
  return setup;
}

// ---- Reporting ----

// Streams a failure message into a sink string; the first failure wins.
class Failure {
 public:
  explicit Failure(std::string* sink) : sink_(sink) {}
  Failure(Failure&&) = delete;
  ~Failure() {
    if (sink_->empty()) *sink_ = out_.str();
  }
  template <class T>
  Failure& operator<<(const T& value) {
    out_ << value;
    return *this;
  }

 private:
  std::string* sink_;
  std::ostringstream out_;
};

}  // namespace hamt::fuzz

#endif  // HAMT_ALLOC_HAMT_FUZZ_FUZZ_INPUT_H_
