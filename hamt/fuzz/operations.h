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
//   byte 1          key range: {1, 3, 8, 33, 64, 100, 256, 1000}[b % 8]; bit 3 set: persistent
//                   mode, the operations drive versions of a hamt::PersistentMap instead
//                   (persistent_operations.h documents its opcodes)
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
#include "hamt/fuzz/fuzz_input.h"
#include "hamt/fuzz/persistent_operations.h"
#include "hamt/hamt.h"

namespace hamt::fuzz {

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
  const Setup setup = ReadSetup(in);
  if (setup.persistent) return RunPersistentOperations<Policy>(in, setup, make_policy());
  const AdversarialHash& hash = setup.hash;
  const std::size_t key_range = setup.key_range;
  const int period = setup.period;
  switch (setup.value_type) {
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
