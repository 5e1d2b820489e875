// hamt/fuzz/operations.h: a decoder that turns any byte string into a sequence of operations on
// hamt::Map, mirrored on absl::flat_hash_map (the model) and checked after every operation. Shared
// by the libFuzzer target (map_fuzzer.cc) and its plain gtest twin (operations_test.cc).
//
//   std::string error = hamt::fuzz::RunOperations<allocators::SlotRecycler>(
//       data, size, [] { return allocators::SlotRecycler({.capacity_slots = 64, .quiet = true}); });
//   // error.empty(): the map agreed with the model throughout; else what differed, and where.
//
// The map under test is hamt::Map<SmallKey, V, AdversarialHash, std::equal_to<SmallKey>, Policy>:
//   - keys are uint16 in a small range (1 to 1000, chosen by the input), so operations hit
//     present keys often;
//   - AdversarialHash has few distinct values (a table of 8 hashes from the input that differ at
//     input-chosen depths, a constant, identity, only high bits, only low bits, ...), so collision
//     nodes, single-child chains and the last (4-bit) bitmap level are exercised;
//   - V is std::uint64_t (trivially copyable: the memcpy paths), std::string (SSO and heap
//     strings: move-relocation, destructors) or Tracked (counts live instances and poisons
//     destroyed ones: double destruction, leaks and use of destroyed values show even in pool
//     memory, where AddressSanitizer sees nothing).
//
// Input format (everything is optional: a short input just means fewer operations):
//   byte 0          hash mode (low 3 bits), value type ((>> 3) % 3), check period (>> 5 & 3:
//                   full checks every 1, 4, 16 or 64 operations)
//   byte 1          key range: {1, 3, 8, 33, 64, 100, 256, 1000}[b % 8]
//   bytes 2..9      hash table base (little endian)
//   bytes 10..25    8 x (delta, shift): table[i] = base ^ (delta << shift % 64)
//   then operations: one opcode byte (low 4 bits: the operation, high 4 bits: its parameter),
//   then its arguments; see Runner::Step for the list.
//
// After every operation: the operation's result (inserted?, found value, erased?), size(),
// empty(), empty() <=> no live bytes in the policy, and for Tracked values the live-instance count.
// Every `period` operations and at the end: check_invariants(), full iteration against the model
// (each key exactly once, values equal), and the canonical-form check: the policy's live_bytes
// must equal that of a map freshly built from the model's keys (CHAMP's shape depends only on the
// key set). At the end: clear() must return every byte.
//
// Policies with arm_failure() (allocators::FaultInjecting, allocators/testing.h) additionally get
// "the N-th allocation from now throws std::bad_alloc": the map must then be left exactly as it
// was (the model is not updated), as champ.h promises. The policy must be counted
// (allocators::IsCounted): the checks read its live bytes.
#ifndef HAMT_ALLOC_HAMT_FUZZ_OPERATIONS_H_
#define HAMT_ALLOC_HAMT_FUZZ_OPERATIONS_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <new>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "allocators/malloc_policy.h"
#include "allocators/policy.h"
#include "allocators/stats.h"
#include "allocators/testing.h"
#include "hamt/hamt.h"

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

// ---- The runner ----

template <class V, allocators::AllocatorPolicy Policy>
class Runner {
  static_assert(allocators::IsCounted<Policy>(), "the checks read the policy's live bytes");

 public:
  using MapT = hamt::Map<SmallKey, V, AdversarialHash, std::equal_to<SmallKey>, Policy>;
  using Traits = ValueTraits<V>;

  Runner(ByteReader& in, AdversarialHash hash, std::size_t key_range, int period, Policy policy)
      : in_(in),
        hash_(hash),
        key_range_(key_range),
        period_(period),
        map_(hash, std::equal_to<SmallKey>(), std::move(policy)) {}

  std::string Run() {
    int step = 0;
    while (!in_.empty()) {
      const std::size_t at = in_.position();
      Step();
      ++step;
      if (error_.empty()) CheckAfterEveryOp();
      if (error_.empty() && step % period_ == 0) {
        FullCheck(step % (4 * period_) == 0 && CanonicalCheckIsCheap());
      }
      if (!error_.empty()) return Describe(step, at);
    }
    if constexpr (allocators::InjectsFaults<Policy>) map_.allocator().arm_failure(-1);
    if (error_.empty()) FullCheck(true);
    if (error_.empty()) {
      // Every entry through erase, then nothing may be left.
      Drain(/*parity=*/-1);
      CheckAfterEveryOp();
    }
    if (error_.empty()) {
      map_.clear();
      if (map_.allocator().stats().live_bytes != 0) {
        Fail() << "after erasing everything and clear(), the policy still has "
               << map_.allocator().stats().live_bytes << " live bytes";
      }
    }
    if (!error_.empty()) return Describe(step, in_.position());
    return "";
  }

 private:
  // ---- Reporting ----

  // Streams into error_ (the first failure wins).
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
  Failure Fail() { return Failure(&error_); }

  void Log(std::string entry) {
    if (log_.size() == kLogSize) log_.erase(log_.begin());
    log_.push_back(std::move(entry));
  }

  std::string Describe(int step, std::size_t offset) const {
    std::ostringstream out;
    out << "MISMATCH at operation " << step << " (input offset " << offset << "): " << error_
        << "\n  setup: hash " << HashModeName(hash_.mode) << ", values " << Traits::kName
        << ", key range " << key_range_ << ", full check every " << period_
        << " ops; size " << map_.size() << ", model size " << model_.size()
        << "\n  last operations:";
    for (const std::string& entry : log_) out << "\n    " << entry;
    return out.str();
  }

  // ---- Arguments ----

  SmallKey Key() {
    std::size_t raw = in_.byte();
    if (key_range_ > 256) raw |= std::size_t{in_.byte()} << 8;
    return static_cast<SmallKey>(raw % key_range_);
  }
  std::uint32_t ValueId() {
    // A per-run counter mixed in makes overwrites with "the same" input byte still change the
    // value, so a lost assignment shows.
    return (std::uint32_t{in_.byte()} << 16) | (++value_counter_ & 0xffff);
  }
  // The key most recently touched `back` operations ago: present keys come up often.
  SmallKey RecentKey(unsigned back) {
    return recent_[(recent_next_ + kRecent - 1 - back % kRecent) % kRecent];
  }
  void Touch(SmallKey key) {
    recent_[recent_next_] = key;
    recent_next_ = (recent_next_ + 1) % kRecent;
  }

  // ---- Mutations, each tolerant of an injected bad_alloc ----

  // Runs `op` on the map. Returns false if it threw an injected std::bad_alloc: then the map must
  // be unchanged, and the caller must not update the model.
  template <class Op>
  bool Mutate(Op&& op) {
    try {
      op();
      ConsumeUnfiredCheck();
      return true;
    } catch (const std::bad_alloc&) {
      if constexpr (allocators::InjectsFaults<Policy>) {
        if (map_.allocator().take_fired()) {
          ++injected_failures_;
          return false;
        }
      }
      Fail() << "unexpected std::bad_alloc";
      return false;
    }
  }
  void ConsumeUnfiredCheck() {
    if constexpr (allocators::InjectsFaults<Policy>) {
      if (map_.allocator().take_fired()) Fail() << "an injected bad_alloc was swallowed";
    }
  }

  void InsertOrAssign(SmallKey key, std::uint32_t id, const char* what) {
    Log(std::string(what) + " " + std::to_string(key) + " -> #" + std::to_string(id));
    Touch(key);
    std::pair<V*, bool> result{};
    if (!Mutate([&] { result = map_.insert_or_assign(key, Traits::Make(id)); })) return;
    const bool expected_inserted = model_.insert_or_assign(key, id).second;
    if (result.second != expected_inserted) {
      Fail() << what << "(" << key << ") returned inserted=" << result.second << ", expected "
             << expected_inserted;
    } else if (result.first == nullptr || !Traits::Holds(*result.first, id)) {
      Fail() << what << "(" << key << ") returned a pointer to the wrong value";
    }
  }

  void TryEmplace(SmallKey key, std::uint32_t id) {
    Log("try_emplace " + std::to_string(key) + " -> #" + std::to_string(id));
    Touch(key);
    V argument = Traits::Make(id);
    std::pair<V*, bool> result{};
    if (!Mutate([&] { result = map_.try_emplace(key, std::move(argument)); })) return;
    const auto [it, expected_inserted] = model_.try_emplace(key, id);
    if (result.second != expected_inserted) {
      Fail() << "try_emplace(" << key << ") returned inserted=" << result.second << ", expected "
             << expected_inserted;
    } else if (result.first == nullptr || !Traits::Holds(*result.first, it->second)) {
      Fail() << "try_emplace(" << key << ") returned a pointer to the wrong value";
    } else if (!expected_inserted && !Traits::Holds(argument, id)) {
      Fail() << "try_emplace(" << key << ") on a present key moved from its argument";
    }
  }

  void Erase(SmallKey key, const char* what) {
    Log(std::string(what) + " " + std::to_string(key));
    Touch(key);
    bool erased = false;
    if (!Mutate([&] { erased = map_.erase(key); })) return;
    const bool expected = model_.erase(key) == 1;
    if (erased != expected) {
      Fail() << what << "(" << key << ") returned " << erased << ", expected " << expected;
    }
  }

  // Erases every key of the model (parity -1) or those with key % 2 == parity, in the model's
  // iteration order.
  void Drain(int parity) {
    Log("drain parity " + std::to_string(parity));
    std::vector<SmallKey> keys;
    for (const auto& [key, id] : model_) {
      if (parity < 0 || key % 2 == parity) keys.push_back(key);
    }
    for (SmallKey key : keys) {
      bool erased = false;
      if (!Mutate([&] { erased = map_.erase(key); })) continue;
      model_.erase(key);
      if (!erased) Fail() << "drain: erase(" << key << ") of a present key returned false";
      if (map_.size() != model_.size()) {
        Fail() << "drain: size " << map_.size() << " after erasing " << key << ", expected "
               << model_.size();
      }
      if (!error_.empty()) return;
    }
  }

  // ---- Observers ----

  void Find(SmallKey key) {
    const V* found = std::as_const(map_).find(key);
    const auto it = model_.find(key);
    if ((found != nullptr) != (it != model_.end())) {
      Fail() << "find(" << key << ") " << (found ? "found" : "did not find")
             << " the key; the model " << (it != model_.end() ? "has" : "does not have") << " it";
    } else if (found != nullptr && !Traits::Holds(*found, it->second)) {
      Fail() << "find(" << key << ") returned the wrong value (expected #" << it->second << ")";
    } else if (map_.contains(key) != (found != nullptr)) {
      Fail() << "contains(" << key << ") disagrees with find";
    }
  }

  void AssignThroughFind(SmallKey key, std::uint32_t id) {
    Log("assign through find " + std::to_string(key) + " -> #" + std::to_string(id));
    Touch(key);
    V* found = map_.find(key);
    const auto it = model_.find(key);
    if ((found != nullptr) != (it != model_.end())) {
      Fail() << "find(" << key << ") (mutable) disagrees with the model";
      return;
    }
    if (found == nullptr) return;
    *found = Traits::Make(id);
    it->second = id;
  }

  void CompareIteration() {
    std::vector<bool> seen(key_range_, false);
    std::size_t visited = 0;
    for (const auto& [key, value] : map_) {
      ++visited;
      if (key >= key_range_) {
        Fail() << "iteration yielded key " << key << ", outside the key range";
        return;
      }
      if (seen[key]) {
        Fail() << "iteration yielded key " << key << " twice";
        return;
      }
      seen[key] = true;
      const auto it = model_.find(key);
      if (it == model_.end()) {
        Fail() << "iteration yielded key " << key << ", which the model does not have";
        return;
      }
      if (!Traits::Holds(value, it->second)) {
        Fail() << "iteration yielded the wrong value for key " << key;
        return;
      }
      if (visited > model_.size()) break;
    }
    if (visited != model_.size()) {
      Fail() << "iteration visited " << visited << " entries, the model has " << model_.size();
    }
  }

  void CheckAfterEveryOp() {
    if (map_.size() != model_.size()) {
      Fail() << "size() is " << map_.size() << ", the model has " << model_.size();
    } else if (map_.empty() != model_.empty()) {
      Fail() << "empty() is " << map_.empty() << " with size " << map_.size();
    } else if (map_.empty() != (map_.allocator().stats().live_bytes == 0)) {
      Fail() << "size " << map_.size() << " but the policy has "
             << map_.allocator().stats().live_bytes << " live bytes";
    }
    if constexpr (std::is_same_v<V, Tracked>) {
      if (std::string tracked = Tracked::TakeError(); !tracked.empty()) {
        Fail() << tracked;
      } else if (Tracked::live() != static_cast<long>(map_.size())) {
        Fail() << Tracked::live() << " Tracked values alive, the map holds " << map_.size()
               << " (a value leaked or was destroyed twice)";
      }
    }
  }

  void FullCheck(bool canonical) {
    if (std::string invariants = map_.check_invariants(); !invariants.empty()) {
      Fail() << "check_invariants: " << invariants;
      return;
    }
    CompareIteration();
    if (error_.empty() && canonical) CheckCanonical();
  }

  // The rebuild is quadratic in the size of the largest collision node: keep the periodic one
  // cheap (the final check always runs).
  bool CanonicalCheckIsCheap() const {
    const bool one_or_two_hashes =
        hash_.mode == HashMode::kConstant || hash_.mode == HashMode::kTwoValues;
    return !one_or_two_hashes || model_.size() <= 200;
  }

  // CHAMP is canonical: the node sizes, hence the live bytes, depend only on the key set. A map
  // rebuilt from the model's keys must hold exactly as many bytes as the fuzzed one.
  void CheckCanonical() {
    std::size_t rebuilt_bytes = 0;
    {
      hamt::Map<SmallKey, V, AdversarialHash, std::equal_to<SmallKey>, allocators::MallocPolicy>
          rebuilt(hash_, std::equal_to<SmallKey>(), allocators::MallocPolicy());
      for (const auto& [key, id] : model_) rebuilt.try_emplace(key, Traits::Make(id));
      rebuilt_bytes = rebuilt.allocator().stats().live_bytes;
    }
    const std::size_t live = map_.allocator().stats().live_bytes;
    if (live != rebuilt_bytes) {
      Fail() << "non-canonical shape: the map holds " << live << " live bytes, a map rebuilt "
             << "from the same " << model_.size() << " keys holds " << rebuilt_bytes;
    }
  }

  // ---- One operation ----

  void Step() {
    const std::uint8_t op = in_.byte();
    const unsigned param = op >> 4;
    switch (op & 0x0f) {
      case 0:
      case 1: {
        const SmallKey key = Key();
        InsertOrAssign(key, ValueId(), "insert_or_assign");
        break;
      }
      case 2:  // overwrite: insert_or_assign on a recently touched key
        InsertOrAssign(RecentKey(param), ValueId(), "overwrite");
        break;
      case 3: {
        const SmallKey key = Key();
        TryEmplace(key, ValueId());
        break;
      }
      case 4:
        Erase(Key(), "erase");
        break;
      case 5:
        Erase(RecentKey(param), "erase recent");
        break;
      case 6: {
        const SmallKey key = param < 8 ? Key() : RecentKey(param);
        Log("find " + std::to_string(key));
        Find(key);
        break;
      }
      case 7:
        AssignThroughFind(RecentKey(param), ValueId());
        break;
      case 8:
        Log("iterate");
        CompareIteration();
        break;
      case 9:
      case 10: {  // bulk insert / erase of param + 1 keys: start, start + stride, ...
        const SmallKey start = Key();
        const std::size_t stride = in_.byte() % 8 + 1;
        for (unsigned i = 0; i <= param && error_.empty(); ++i) {
          const auto key = static_cast<SmallKey>((start + i * stride) % key_range_);
          if ((op & 0x0f) == 9) {
            InsertOrAssign(key, ValueId(), "bulk insert");
          } else {
            Erase(key, "bulk erase");
          }
          if (error_.empty()) CheckAfterEveryOp();
        }
        break;
      }
      case 11:
        if (param == 0x0f) {
          Log("clear");
          map_.clear();
          model_.clear();
          if (map_.allocator().stats().live_bytes != 0) {
            Fail() << "clear() left " << map_.allocator().stats().live_bytes << " live bytes";
          }
        } else {
          Log("check_invariants");
          FullCheck(param == 0);
        }
        break;
      case 12: {  // move out and back: the nodes travel with the policy
        Log("move out and back");
        MapT moved(std::move(map_));
        if (!map_.empty() || map_.begin() != map_.end()) Fail() << "moved-from map is not empty";
        map_ = std::move(moved);
        if (!moved.empty()) Fail() << "moved-from map (assignment) is not empty";
        break;
      }
      case 13:
        if constexpr (allocators::InjectsFaults<Policy>) {
          Log("arm failure after " + std::to_string(param) + " allocations");
          map_.allocator().arm_failure(static_cast<int>(param));
        } else {
          const SmallKey key = Key();
          Log("find " + std::to_string(key));
          Find(key);
        }
        break;
      case 14: {  // 64 consecutive keys (or the whole range) through find/contains
        const SmallKey start = Key();
        Log("probe keys from " + std::to_string(start));
        for (std::size_t i = 0; i < std::min<std::size_t>(key_range_, 64) && error_.empty(); ++i) {
          Find(static_cast<SmallKey>((start + i) % key_range_));
        }
        break;
      }
      case 15:
        Drain(static_cast<int>(param % 3) - 1);  // everything, even keys or odd keys
        break;
    }
  }

  static constexpr std::size_t kLogSize = 12;
  static constexpr unsigned kRecent = 8;

  ByteReader& in_;
  AdversarialHash hash_;
  std::size_t key_range_;
  int period_;
  MapT map_;
  absl::flat_hash_map<SmallKey, std::uint32_t> model_;  // key -> value id
  std::array<SmallKey, kRecent> recent_{};
  unsigned recent_next_ = 0;
  std::uint32_t value_counter_ = 0;
  int injected_failures_ = 0;
  std::vector<std::string> log_;
  std::string error_;
};

// Decodes `data` and runs it on a map whose policy is make_policy(); returns "" when the map
// agreed with the model throughout, else a description of the first mismatch.
template <allocators::AllocatorPolicy Policy, class MakePolicy>
std::string RunOperations(const std::uint8_t* data, std::size_t size, MakePolicy&& make_policy) {
  ByteReader in(data, size);
  const std::uint8_t setup = in.byte();
  AdversarialHash hash;
  hash.mode = static_cast<HashMode>(setup % kHashModes);
  const int value_type = (setup >> 3) % 3;
  static constexpr int kPeriods[] = {1, 4, 16, 64};
  const int period = kPeriods[(setup >> 5) & 3];
  const std::size_t key_range = kKeyRanges[in.byte() % kKeyRanges.size()];
  const std::uint64_t base = in.u64();
  for (std::uint64_t& entry : hash.table) {
    const std::uint64_t delta = in.byte();
    const unsigned shift = in.byte() % 64;
    entry = base ^ (delta << shift);
  }
  switch (value_type) {
    case 0:
      return Runner<std::uint64_t, Policy>(in, hash, key_range, period, make_policy()).Run();
    case 1:
      return Runner<std::string, Policy>(in, hash, key_range, period, make_policy()).Run();
    default: {
      Tracked::ResetForRun();
      std::string error =
          Runner<Tracked, Policy>(in, hash, key_range, period, make_policy()).Run();
      if (error.empty() && Tracked::live() != 0) {
        error = std::to_string(Tracked::live()) + " Tracked values alive after the map is gone";
      }
      if (error.empty()) error = Tracked::TakeError();
      return error;
    }
  }
}

}  // namespace hamt::fuzz

#endif  // HAMT_ALLOC_HAMT_FUZZ_OPERATIONS_H_
