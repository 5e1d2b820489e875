// Tests for pmr.h: our pools serving std::pmr containers (PolicyResource), and pmr resources as
// policies (PmrPolicy and the owning ones).
#include <cstdint>
#include <cstring>
#include <memory_resource>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "allocators/bump_pool.h"
#include "allocators/malloc_policy.h"
#include "allocators/pmr.h"
#include "allocators/slot_recycler.h"
#include "allocators/testing.h"
#include "gtest/gtest.h"

namespace allocators {
namespace {

PoolOptions Quiet(std::size_t capacity_slots) {
  PoolOptions options;
  options.capacity_slots = capacity_slots;
  options.quiet = true;
  return options;
}

TEST(PolicyResourceTest, PmrVectorRoundTripsThroughASlotRecycler) {
  PolicyResource<SlotRecycler> resource(Quiet(1 << 16));
  {
    std::pmr::vector<std::uint64_t> v(&resource);
    for (std::uint64_t i = 0; i < 1000; ++i) v.push_back(i * 3);
    for (std::uint64_t i = 0; i < 1000; ++i) ASSERT_EQ(v[i], i * 3);
    EXPECT_TRUE(resource.policy().owns(v.data()));
  }
  const AllocStats& s = resource.stats();
  EXPECT_GT(s.allocations, 5u);  // geometric growth
  EXPECT_EQ(s.allocations, s.deallocations);
  EXPECT_EQ(s.live_bytes, 0u);
  EXPECT_EQ(s.fallback_allocations, 0u);
}

TEST(PolicyResourceTest, PmrUnorderedMapRoundTripsThroughABumpPool) {
  PolicyResource<BumpPool> resource(Quiet(1 << 18));
  {
    std::pmr::unordered_map<int, std::pmr::string> map(&resource);
    for (int i = 0; i < 2000; ++i) map.emplace(i, std::pmr::string(40, static_cast<char>('a' + i % 26)));
    for (int i = 0; i < 2000; i += 2) map.erase(i);
    ASSERT_EQ(map.size(), 1000u);
    for (int i = 1; i < 2000; i += 2) {
      ASSERT_EQ(std::string_view(map.at(i)), std::string(40, static_cast<char>('a' + i % 26)));
      // The nested string allocates through the same resource (uses-allocator construction).
      EXPECT_TRUE(resource.policy().owns(map.at(i).data()));
    }
  }
  EXPECT_EQ(resource.stats().live_bytes, 0u);
  EXPECT_EQ(resource.stats().allocations, resource.stats().deallocations);
  EXPECT_GE(resource.stats().allocations, 4000u);  // one node and one string buffer per entry
}

TEST(PolicyResourceTest, OverAlignedRequestsAreServedByOverAllocation) {
  PolicyResource<CheckedSizePolicy<SlotRecycler>> resource(Quiet(1 << 16));
  std::vector<std::pair<void*, std::pair<std::size_t, std::size_t>>> blocks;
  for (std::size_t alignment : {1, 2, 4, 8, 16, 32, 64, 4096}) {
    for (std::size_t bytes : {1, 8, 24, 100}) {
      void* p = resource.allocate(bytes, alignment);
      EXPECT_TRUE(IsAligned(p, alignment)) << p << " alignment " << alignment;
      std::memset(p, 0x5a, bytes);
      blocks.push_back({p, {bytes, alignment}});
    }
  }
  EXPECT_EQ(resource.overaligned_allocations(), 4u * 4u);
  for (auto [p, size] : blocks) resource.deallocate(p, size.first, size.second);
  EXPECT_EQ(resource.stats().live_bytes, 0u);
  // 16-byte alignment of 24 bytes asked the policy for 24 + 16 (CheckedSizePolicy checked the
  // matching deallocation size).
  EXPECT_EQ(resource.stats().bytes_allocated,
            4 * (1 + 8 + 24 + 100) + (1 + 8 + 24 + 100) * 4 + 4 * (16 + 32 + 64 + 4096));
}

TEST(PolicyResourceTest, PmrVectorOfOverAlignedType) {
  struct alignas(32) Wide {
    std::uint64_t value[4];
  };
  PolicyResource<MallocPolicy> resource;
  std::pmr::vector<Wide> v(&resource);
  for (std::uint64_t i = 0; i < 100; ++i) v.push_back(Wide{{i, i, i, i}});
  EXPECT_TRUE(IsAligned(v.data(), 32));
  EXPECT_EQ(v[99].value[3], 99u);
  EXPECT_GT(resource.overaligned_allocations(), 0u);
}

TEST(PolicyResourceTest, IsEqualIsIdentity) {
  PolicyResource<MallocPolicy> a;
  PolicyResource<MallocPolicy> b;
  EXPECT_TRUE(a.is_equal(a));
  EXPECT_FALSE(a.is_equal(b));
}

TEST(PmrPolicyTest, ServesFromTheGivenResource) {
  // A resource that serves from a known buffer, counting calls.
  std::byte buffer[4096];
  std::pmr::monotonic_buffer_resource upstream(buffer, sizeof(buffer),
                                               std::pmr::null_memory_resource());
  PmrPolicy policy(&upstream);
  void* a = policy.allocate(24);
  void* b = policy.allocate(0);
  EXPECT_GE(static_cast<std::byte*>(a), buffer);
  EXPECT_LT(static_cast<std::byte*>(a), buffer + sizeof(buffer));
  EXPECT_NE(a, b);
  EXPECT_TRUE(IsAligned(a) && IsAligned(b));
  policy.deallocate(a, 24);
  policy.deallocate(b, 0);
  EXPECT_EQ(policy.stats().allocations, 2u);
  EXPECT_EQ(policy.stats().bytes_allocated, 24u);
  EXPECT_EQ(policy.stats().live_bytes, 0u);
  EXPECT_EQ(policy.backend().resource(), &upstream);
  // The null upstream makes exhaustion visible: bad_alloc, as the policy contract says.
  EXPECT_THROW((void)policy.allocate(1 << 20), std::bad_alloc);
  EXPECT_EQ(policy.stats().allocations, 2u);  // a failed allocation is not counted
}

TEST(PmrPolicyTest, OwningPoliciesMoveTheirResource) {
  PmrPoolPolicy a;
  void* p = a.allocate(40);
  std::pmr::unsynchronized_pool_resource* resource = a.backend().resource();
  PmrPoolPolicy b(std::move(a));
  EXPECT_EQ(b.backend().resource(), resource);
  EXPECT_EQ(b.stats().live_bytes, 40u);
  b.deallocate(p, 40);
  PmrMonotonicPolicy m(1 << 16);
  void* q = m.allocate(24);
  void* r = m.allocate(24);
  EXPECT_EQ(static_cast<char*>(r) - static_cast<char*>(q), 24);  // a bump, 8-byte aligned
  m.deallocate(q, 24);
  m.deallocate(r, 24);
}

}  // namespace
}  // namespace allocators
