// hamt::Map's allocation sequence, pinned: the exact order and sizes of every allocate() and
// deallocate() call (and which earlier block each free returns) over 100,000 random operations,
// folded into one digest and compared against the value recorded before hamt/internal/ was shared
// with hamt::PersistentMap. The study's reproduction and its demand model depend on this sequence,
// so any change to Map's node bytes or to the order of its allocator calls fails here, whatever
// the refactoring. If a change of the sequence is intended, record the new digests (the failure
// message prints them) and say so in the commit.
//
// Deterministic by construction: a fixed-seed std::mt19937_64 draws the operations and the hashes
// are splitmix64 (testing_hashes.h; absl::Hash is seeded per process), so the sequence depends on
// the code alone.
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>

#include "allocators/malloc_policy.h"
#include "allocators/policy.h"
#include "allocators/stats.h"
#include "gtest/gtest.h"
#include "hamt/hamt.h"
#include "hamt/testing_hashes.h"

namespace {

// Records every call into an FNV-1a digest: (op, bytes, and for a free the ordinal of the
// allocation it returns).
class RecordingPolicy {
 public:
  [[nodiscard]] void* allocate(std::size_t bytes) {
    void* p = inner_.allocate(bytes);
    ordinals_[p] = allocations_++;
    Mix(1);
    Mix(bytes);
    return p;
  }
  void deallocate(void* p, std::size_t bytes) noexcept {
    auto it = ordinals_.find(p);
    Mix(2);
    Mix(bytes);
    Mix(it == ordinals_.end() ? ~std::uint64_t{0} : it->second);
    if (it != ordinals_.end()) ordinals_.erase(it);
    ++deallocations_;
    inner_.deallocate(p, bytes);
  }
  const allocators::AllocStats& stats() const { return inner_.stats(); }

  std::uint64_t digest() const { return digest_; }
  std::uint64_t allocations() const { return allocations_; }
  std::uint64_t deallocations() const { return deallocations_; }

 private:
  void Mix(std::uint64_t value) {
    for (int i = 0; i < 8; ++i) {
      digest_ ^= (value >> (8 * i)) & 0xff;
      digest_ *= 0x100000001b3u;
    }
  }

  allocators::MallocPolicy inner_;
  std::unordered_map<void*, std::uint64_t> ordinals_;
  std::uint64_t allocations_ = 0;
  std::uint64_t deallocations_ = 0;
  std::uint64_t digest_ = 0xcbf29ce484222325u;
};
static_assert(allocators::AllocatorPolicy<RecordingPolicy>);

struct Sequence {
  std::uint64_t digest;
  std::uint64_t allocations;
  std::uint64_t deallocations;
};

// 100,000 operations on keys [0, 20000): insert_or_assign, try_emplace and erase, in phases that
// grow and drain the map; then clear().
template <class V, class Sizing, class Hash = hamt::testing::SplitMixHash, class MakeValue>
Sequence Record(MakeValue make_value) {
  hamt::Map<std::int64_t, V, Hash, std::equal_to<std::int64_t>, RecordingPolicy, Sizing> map{
      Hash(), std::equal_to<std::int64_t>(), RecordingPolicy()};
  std::mt19937_64 rng(17);
  for (int step = 0; step < 100000; ++step) {
    const auto key = static_cast<std::int64_t>(rng() % 20000);
    const bool draining = (step / 10000) % 2 == 1;
    const unsigned op = static_cast<unsigned>(rng() % 4);
    if (op == 0 || (draining && op == 1)) {
      map.erase(key);
    } else if (op == 1) {
      map.try_emplace(key, make_value(step));
    } else {
      map.insert_or_assign(key, make_value(step));
    }
  }
  map.clear();
  const RecordingPolicy& policy = map.allocator();
  EXPECT_EQ(policy.stats().live_bytes, 0u);
  return {policy.digest(), policy.allocations(), policy.deallocations()};
}

void ExpectSequence(const Sequence& actual, const Sequence& expected) {
  EXPECT_EQ(actual.allocations, expected.allocations);
  EXPECT_EQ(actual.deallocations, expected.deallocations);
  EXPECT_EQ(actual.digest, expected.digest)
      << "hamt::Map's allocation sequence changed; recorded now: {0x" << std::hex << actual.digest
      << "u, " << std::dec << actual.allocations << ", " << actual.deallocations << "}";
}

TEST(AllocationSequenceTest, ExactNodesInt64) {
  ExpectSequence(Record<std::int64_t, hamt::ExactNodes>([](int step) { return step; }),
                 {0x813fa656ee69c5du, 57988, 57988});
}

TEST(AllocationSequenceTest, ExactNodesString) {
  ExpectSequence(Record<std::string, hamt::ExactNodes>(
                     [](int step) { return std::string(step % 40, 'v'); }),
                 {0xb24eee1b21eb0d2du, 57988, 57988});
}

TEST(AllocationSequenceTest, RoundedNodesInt64) {
  ExpectSequence(Record<std::int64_t, hamt::RoundedNodes<4>>([](int step) { return step; }),
                 {0x161381c4194e2b61u, 47980, 47980});
}

// Colliding hashes: pushes down through long single-child chains into collision nodes, and the
// erases that pull survivors back up, are pinned too.
TEST(AllocationSequenceTest, ExactNodesInt64CollidingHashes) {
  ExpectSequence(Record<std::int64_t, hamt::ExactNodes, hamt::testing::SplitMixLow16Hash>(
                     [](int step) { return step; }),
                 {0x8796e5718e7cc358u, 95239, 95239});
}

TEST(AllocationSequenceTest, RoundedNodesInt64CollidingHashes) {
  ExpectSequence(Record<std::int64_t, hamt::RoundedNodes<4>, hamt::testing::SplitMixLow16Hash>(
                     [](int step) { return step; }),
                 {0x749efb91d0e77070u, 85231, 85231});
}

}  // namespace
