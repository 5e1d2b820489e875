// hamt/fuzz/persistent_operations.h: the decoder's persistent mode (bit 3 of the key-range byte,
// operations.h): the operations drive versions of one hamt::PersistentMap lineage, each mirrored
// by its own absl::flat_hash_map model, and every retained version must keep reading its own
// model whatever is done to the others.
//
// Up to 8 versions are retained (a new one beyond that drops the oldest, first-in first-out);
// every operation names the version it works on (its parameter nibble, modulo the count). The
// opcodes (low 4 bits of the opcode byte):
//   0, 1   set Key() on a version: a new version          8    compare a version's iteration
//   2      set a recently touched key: a new version      9    copy a version (O(1)): a new one
//   3      rvalue set: the version is replaced            10   drop a version (any position)
//   4      erase Key(): a new version                     11   equality of two versions
//   5      erase a recent key: a new version              12   full check
//   6      rvalue erase: the version is replaced          13   fault policies: the N-th allocation
//   7      find Key() in a version                             from now throws; else find
//   14     a chain of param + 1 rvalue sets on a version  15   move a version out and back
// After every operation: the touched version's size and the touched key against its model.
// Every `period` operations and at the end: every version's invariants and iteration against its
// model; the exact reference count of every node among the retained versions and the lineage's
// (CheckSharing); the policy's live bytes equal to the bytes of the nodes reachable (no leak, no
// early free); for Tracked values, the live count equal to the entries reachable. An injected
// std::bad_alloc must leave every version unchanged (the models are not updated). At the end the
// versions are dropped from both ends alternately, each drop checked, and the policy must hold
// no live byte.
#ifndef HAMT_ALLOC_HAMT_FUZZ_PERSISTENT_OPERATIONS_H_
#define HAMT_ALLOC_HAMT_FUZZ_PERSISTENT_OPERATIONS_H_

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
#include "allocators/policy.h"
#include "allocators/testing.h"
#include "hamt/fuzz/fuzz_input.h"
#include "hamt/internal/persistent_testing.h"
#include "hamt/persistent_map.h"

namespace hamt::fuzz {

template <class V, allocators::AllocatorPolicy Policy>
class PersistentRunner {
  static_assert(allocators::IsCounted<Policy>(), "the checks read the policy's live bytes");

 public:
  using MapT = hamt::PersistentMap<SmallKey, V, AdversarialHash, std::equal_to<SmallKey>, Policy>;
  using Traits = ValueTraits<V>;
  using Model = absl::flat_hash_map<SmallKey, std::uint32_t>;  // key -> value id

  PersistentRunner(ByteReader& in, const Setup& setup, Policy policy)
      : in_(in),
        setup_(setup),
        keeper_(setup.hash, std::equal_to<SmallKey>(), std::move(policy)) {
    versions_.push_back({keeper_, {}});
  }

  std::string Run() {
    int step = 0;
    while (!in_.empty() && error_.empty()) {
      const std::size_t at = in_.position();
      Step();
      ++step;
      if (error_.empty() && step % setup_.period == 0) FullCheck();
      if (!error_.empty()) return Describe(step, at);
    }
    if constexpr (allocators::InjectsFaults<Policy>) keeper_.allocator().arm_failure(-1);
    if (error_.empty()) FullCheck();
    bool from_front = true;
    while (error_.empty() && !versions_.empty()) {
      Log(std::string("final drop from the ") + (from_front ? "front" : "back"));
      versions_.erase(from_front ? versions_.begin() : versions_.end() - 1);
      from_front = !from_front;
      CheckSharing();
    }
    if (error_.empty() && keeper_.allocator().stats().live_bytes != 0) {
      Fail() << "every version dropped, but the policy has "
             << keeper_.allocator().stats().live_bytes << " live bytes";
    }
    if (!error_.empty()) return Describe(step, in_.position());
    return "";
  }

 private:
  struct Version {
    MapT map;
    Model model;
  };
  static constexpr std::size_t kMaxVersions = 8;
  static constexpr std::size_t kLogSize = 12;
  static constexpr unsigned kRecent = 8;

  Failure Fail() { return Failure(&error_); }

  void Log(std::string entry) {
    if (log_.size() == kLogSize) log_.erase(log_.begin());
    log_.push_back(std::move(entry));
  }

  std::string Describe(int step, std::size_t offset) const {
    std::ostringstream out;
    out << "MISMATCH at operation " << step << " (input offset " << offset << "), persistent: "
        << error_ << "\n  setup: hash " << HashModeName(setup_.hash.mode) << ", values "
        << Traits::kName << ", key range " << setup_.key_range << ", full check every "
        << setup_.period << " ops; " << versions_.size() << " versions\n  last operations:";
    for (const std::string& entry : log_) out << "\n    " << entry;
    return out.str();
  }

  // ---- Arguments ----

  SmallKey Key() {
    std::size_t raw = in_.byte();
    if (setup_.key_range > 256) raw |= std::size_t{in_.byte()} << 8;
    return static_cast<SmallKey>(raw % setup_.key_range);
  }
  // As operations.h's: a per-run counter makes every assignment change the value.
  std::uint32_t ValueId() {
    return (std::uint32_t{in_.byte()} << 16) | (++value_counter_ & 0xffff);
  }
  SmallKey RecentKey(unsigned back) {
    return recent_[(recent_next_ + kRecent - 1 - back % kRecent) % kRecent];
  }
  void Touch(SmallKey key) {
    recent_[recent_next_] = key;
    recent_next_ = (recent_next_ + 1) % kRecent;
  }
  std::size_t Pick(unsigned param) const { return param % versions_.size(); }

  // ---- Versions ----

  void Push(Version version) {
    if (versions_.size() == kMaxVersions) versions_.erase(versions_.begin());
    versions_.push_back(std::move(version));
  }

  // Runs `update` (which returns the new version's map). Returns false if an injected
  // std::bad_alloc interrupted it: then every version must be as it was, which the caller's next
  // checks verify against the unchanged models.
  template <class Update>
  bool Attempt(Update&& update, MapT* result) {
    const std::uint64_t live = keeper_.allocator().stats().live_bytes;
    try {
      *result = update();
      if constexpr (allocators::InjectsFaults<Policy>) {
        if (keeper_.allocator().take_fired()) Fail() << "an injected bad_alloc was swallowed";
      }
      return true;
    } catch (const std::bad_alloc&) {
      if constexpr (allocators::InjectsFaults<Policy>) {
        if (keeper_.allocator().take_fired()) {
          if (keeper_.allocator().stats().live_bytes != live) {
            Fail() << "a failed update changed the live bytes from " << live << " to "
                   << keeper_.allocator().stats().live_bytes;
          }
          return false;
        }
      }
      Fail() << "unexpected std::bad_alloc";
      return false;
    }
  }

  // set (key -> id) or erase on version `index`; by rvalue: the version is replaced, else a new
  // version is pushed.
  void Update(std::size_t index, SmallKey key, bool erase, std::uint32_t id, bool by_rvalue) {
    Log(std::string(by_rvalue ? "rvalue " : "") + (erase ? "erase " : "set ") +
        std::to_string(key) + (erase ? "" : " -> #" + std::to_string(id)) + " on version " +
        std::to_string(index));
    Touch(key);
    Version& from = versions_[index];
    MapT result = keeper_;  // any map of the lineage: overwritten
    const bool done = Attempt(
        [&] {
          if (erase) return by_rvalue ? std::move(from.map).erase(key) : from.map.erase(key);
          return by_rvalue ? std::move(from.map).set(key, Traits::Make(id))
                           : from.map.set(key, Traits::Make(id));
        },
        &result);
    if (!done) {
      CheckVersion(index, key);
      return;
    }
    Model model = from.model;
    if (erase) {
      model.erase(key);
    } else {
      model.insert_or_assign(key, id);
    }
    if (by_rvalue && !from.map.empty()) Fail() << "an rvalue update left its source non-empty";
    if (by_rvalue) {
      from = {std::move(result), std::move(model)};
      CheckVersion(index, key);
    } else {
      CheckVersion(index, key);  // the source, unchanged
      Push({std::move(result), std::move(model)});
      CheckVersion(versions_.size() - 1, key);
    }
  }

  // ---- Checks ----

  // Size and one key of version `index` against its model.
  void CheckVersion(std::size_t index, SmallKey key) {
    if (!error_.empty()) return;
    const Version& version = versions_[index];
    if (version.map.size() != version.model.size()) {
      Fail() << "version " << index << " has size " << version.map.size() << ", its model "
             << version.model.size();
      return;
    }
    Find(index, key);
  }

  void Find(std::size_t index, SmallKey key) {
    const Version& version = versions_[index];
    const V* found = version.map.find(key);
    const auto it = version.model.find(key);
    if ((found != nullptr) != (it != version.model.end())) {
      Fail() << "version " << index << ": find(" << key << ") "
             << (found ? "found" : "did not find") << " the key; its model "
             << (it != version.model.end() ? "has" : "does not have") << " it";
    } else if (found != nullptr && !Traits::Holds(*found, it->second)) {
      Fail() << "version " << index << ": find(" << key << ") returned the wrong value";
    }
  }

  void CompareIteration(std::size_t index) {
    const Version& version = versions_[index];
    std::vector<bool> seen(setup_.key_range, false);
    std::size_t visited = 0;
    for (const auto& [key, value] : version.map) {
      if (key >= setup_.key_range || seen[key]) {
        Fail() << "version " << index << ": iteration yielded key " << key
               << " twice or outside the range";
        return;
      }
      seen[key] = true;
      const auto it = version.model.find(key);
      if (it == version.model.end() || !Traits::Holds(value, it->second)) {
        Fail() << "version " << index << ": iteration yielded key " << key
               << (it == version.model.end() ? ", which its model does not have"
                                             : " with the wrong value");
        return;
      }
      if (++visited > version.model.size()) break;
    }
    if (visited != version.model.size()) {
      Fail() << "version " << index << ": iteration visited " << visited << " entries, its model "
             << "has " << version.model.size();
    }
  }

  // Reference counts, live bytes and (Tracked) live values against what the versions reach.
  void CheckSharing() {
    if (!error_.empty()) return;
    std::vector<const MapT*> all = {&keeper_};
    for (const Version& version : versions_) all.push_back(&version.map);
    hamt::internal::SharedTotals totals;
    if (std::string sharing = hamt::internal::CheckSharing(all, &totals); !sharing.empty()) {
      Fail() << "sharing: " << sharing;
      return;
    }
    if (totals.node_bytes != keeper_.allocator().stats().live_bytes) {
      Fail() << "the versions reach " << totals.node_bytes << " bytes of nodes, the policy has "
             << keeper_.allocator().stats().live_bytes << " live bytes";
      return;
    }
    if constexpr (std::is_same_v<V, Tracked>) {
      if (std::string tracked = Tracked::TakeError(); !tracked.empty()) {
        Fail() << tracked;
      } else if (Tracked::live() != static_cast<long>(totals.entries)) {
        Fail() << Tracked::live() << " Tracked values alive, the versions reach "
               << totals.entries << " entries (a value leaked or was destroyed twice)";
      }
    }
  }

  void FullCheck() {
    for (std::size_t i = 0; i < versions_.size() && error_.empty(); ++i) {
      if (std::string invariants = versions_[i].map.check_invariants(); !invariants.empty()) {
        Fail() << "version " << i << ": check_invariants: " << invariants;
        return;
      }
      CompareIteration(i);
    }
    CheckSharing();
  }

  // ---- One operation ----

  void Step() {
    const std::uint8_t op = in_.byte();
    const unsigned param = op >> 4;
    const std::size_t index = Pick(param);
    switch (op & 0x0f) {
      case 0:
      case 1: {
        const SmallKey key = Key();
        Update(index, key, false, ValueId(), false);
        break;
      }
      case 2:
        Update(index, RecentKey(in_.byte()), false, ValueId(), false);
        break;
      case 3: {
        const SmallKey key = Key();
        Update(index, key, false, ValueId(), true);
        break;
      }
      case 4:
        Update(index, Key(), true, 0, false);
        break;
      case 5:
        Update(index, RecentKey(in_.byte()), true, 0, false);
        break;
      case 6:
        Update(index, Key(), true, 0, true);
        break;
      case 7: {
        const SmallKey key = Key();
        Log("find " + std::to_string(key) + " in version " + std::to_string(index));
        Find(index, key);
        break;
      }
      case 8:
        Log("iterate version " + std::to_string(index));
        CompareIteration(index);
        break;
      case 9: {
        Log("copy version " + std::to_string(index));
        const std::uint64_t allocations = keeper_.allocator().stats().allocations;
        Version copy = versions_[index];
        if (keeper_.allocator().stats().allocations != allocations) {
          Fail() << "copying a version allocated";
        }
        Push(std::move(copy));
        break;
      }
      case 10:
        if (versions_.size() > 1) {
          Log("drop version " + std::to_string(index));
          versions_.erase(versions_.begin() + static_cast<long>(index));
        }
        break;
      case 11: {
        const std::size_t other = Pick(in_.byte());
        Log("compare versions " + std::to_string(index) + " and " + std::to_string(other));
        const bool equal = versions_[index].map == versions_[other].map;
        if (equal != (versions_[index].model == versions_[other].model)) {
          Fail() << "versions " << index << " and " << other << " compare " << equal
                 << ", their models " << !equal;
        }
        break;
      }
      case 12:
        Log("full check");
        FullCheck();
        break;
      case 13:
        if constexpr (allocators::InjectsFaults<Policy>) {
          Log("arm failure after " + std::to_string(param) + " allocations");
          keeper_.allocator().arm_failure(static_cast<int>(param));
        } else {
          const SmallKey key = Key();
          Log("find " + std::to_string(key) + " in version " + std::to_string(index));
          Find(index, key);
        }
        break;
      case 14: {  // a chain of rvalue sets: start, start + stride, ...
        const SmallKey start = Key();
        const std::size_t stride = in_.byte() % 8 + 1;
        for (unsigned i = 0; i <= param && error_.empty(); ++i) {
          const auto key = static_cast<SmallKey>((start + i * stride) % setup_.key_range);
          Update(versions_.size() - 1, key, false, ValueId(), true);
        }
        break;
      }
      case 15: {
        Log("move version " + std::to_string(index) + " out and back");
        Version& version = versions_[index];
        MapT moved(std::move(version.map));
        if (!version.map.empty()) Fail() << "a moved-from version is not empty";
        version.map = std::move(moved);
        break;
      }
    }
  }

  ByteReader& in_;
  Setup setup_;
  const MapT keeper_;  // empty, kept to the end: the lineage outlives every version
  std::vector<Version> versions_;
  std::array<SmallKey, kRecent> recent_{};
  unsigned recent_next_ = 0;
  std::uint32_t value_counter_ = 0;
  std::vector<std::string> log_;
  std::string error_;
};

// Runs the rest of `in` in persistent mode on versions of a map whose policy is `policy`.
template <allocators::AllocatorPolicy Policy>
std::string RunPersistentOperations(ByteReader& in, const Setup& setup, Policy policy) {
  switch (setup.value_type) {
    case 0:
      return PersistentRunner<std::uint64_t, Policy>(in, setup, std::move(policy)).Run();
    case 1:
      return PersistentRunner<std::string, Policy>(in, setup, std::move(policy)).Run();
    default: {
      Tracked::ResetForRun();
      std::string error = PersistentRunner<Tracked, Policy>(in, setup, std::move(policy)).Run();
      if (error.empty() && Tracked::live() != 0) {
        error = std::to_string(Tracked::live()) + " Tracked values alive after the map is gone";
      }
      if (error.empty()) error = Tracked::TakeError();
      return error;
    }
  }
}

}  // namespace hamt::fuzz

#endif  // HAMT_ALLOC_HAMT_FUZZ_PERSISTENT_OPERATIONS_H_
