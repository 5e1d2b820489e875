// 10,000,000 sequential int64 keys: insert, verify every one, erase half, verify again. Checks
// the full-depth behaviour at the size the experiments run and that the allocator ends at zero.
#include <cstdint>

#include "gtest/gtest.h"
#include "hamt/hamt.h"

namespace {

constexpr std::int64_t kKeys = 10'000'000;

void InsertVerifyEraseHalf(hamt::Map<std::int64_t, std::int64_t>& map) {
  for (std::int64_t k = 0; k < kKeys; ++k) ASSERT_TRUE(map.try_emplace(k, k ^ 0x5a5a).second);
  ASSERT_EQ(map.size(), static_cast<std::size_t>(kKeys));
  for (std::int64_t k = 0; k < kKeys; ++k) {
    const std::int64_t* value = map.find(k);
    ASSERT_NE(value, nullptr) << k;
    ASSERT_EQ(*value, k ^ 0x5a5a) << k;
  }
  ASSERT_EQ(map.find(kKeys), nullptr);
  ASSERT_EQ(map.check_invariants(), "");
  for (std::int64_t k = 0; k < kKeys; k += 2) ASSERT_TRUE(map.erase(k)) << k;
  ASSERT_EQ(map.size(), static_cast<std::size_t>(kKeys / 2));
  for (std::int64_t k = 0; k < kKeys; ++k) ASSERT_EQ(map.contains(k), k % 2 == 1) << k;
  ASSERT_EQ(map.check_invariants(), "");
  map.clear();
  ASSERT_EQ(map.allocator().stats().live_bytes, 0u);
}

TEST(LargeTest, TenMillionSequentialKeys) {
  hamt::Map<std::int64_t, std::int64_t> map;
  InsertVerifyEraseHalf(map);
}

}  // namespace
