// The graded assertions fire where they are on: a cheap one (HAMT_ASSERT) in a debug build
// (--config=debug, or any sanitizer config), an expensive one only with --config=expensive_checks.
// In the default -c opt build both are off, so these tests skip.
#include <cstdint>

#include "allocators/assert.h"
#include "allocators/bump_arena.h"
#include "allocators/free_lists.h"
#include "allocators/stats.h"
#include "gtest/gtest.h"

namespace allocators {
namespace {

class AssertDeathTest : public ::testing::Test {
 protected:
  // Forks and re-executes the test binary: safe with the threads of the sanitizers' runtimes.
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

PoolOptions Quiet(std::size_t capacity_slots) {
  return PoolOptions{.capacity_slots = capacity_slots, .quiet = true};
}

TEST_F(AssertDeathTest, CheapAssertionFiresInDebugBuilds) {
  if (!kCheapChecks) GTEST_SKIP() << "NDEBUG build: HAMT_ASSERT is off";
  const int zero = 0;
  EXPECT_DEATH(HAMT_ASSERT(zero == 1), "hamt assertion failed: zero == 1 at .*assert_test.cc");
}

TEST_F(AssertDeathTest, ArenaRejectsAForeignFree) {
  if (!kCheapChecks) GTEST_SKIP() << "NDEBUG build: HAMT_ASSERT is off";
  BumpArena arena(Quiet(16));
  std::uint64_t foreign = 0;
  NoStats meter;
  EXPECT_DEATH(arena.deallocate(&foreign, 8, meter), "hamt assertion failed: owns\\(p\\)");
}

TEST_F(AssertDeathTest, ArenaRejectsABlockPastTheCursor) {
  if (!kCheapChecks) GTEST_SKIP() << "NDEBUG build: HAMT_ASSERT is off";
  BumpArena arena(Quiet(16));
  NoStats meter;
  void* p = arena.allocate(8, meter);
  // A size larger than what was carved reaches past the cursor.
  EXPECT_DEATH(arena.deallocate(p, 64, meter), "hamt assertion failed");
}

TEST_F(AssertDeathTest, ExpensiveAssertionFiresOnlyWithExpensiveChecks) {
  if (!kExpensiveChecks) GTEST_SKIP() << "built without --config=expensive_checks";
  EXPECT_DEATH(HAMT_ASSERT_EXPENSIVE(sizeof(int) == 1), "hamt assertion failed: sizeof");
}

TEST_F(AssertDeathTest, FreeListWalkCatchesADoubleFree) {
  if (!kExpensiveChecks) GTEST_SKIP() << "built without --config=expensive_checks";
  FreeLists<BumpArena> lists(Quiet(16));
  NoStats meter;
  void* p = lists.allocate(24, meter);
  lists.deallocate(p, 24, meter);
  EXPECT_DEATH(lists.deallocate(p, 24, meter), "hamt assertion failed: list_is_sound");
}

TEST(AssertTest, DisabledAssertionsDoNotEvaluate) {
  int evaluated = 0;
  auto touch = [&] { return ++evaluated > 0; };
  HAMT_ASSERT(touch());
  HAMT_ASSERT_EXPENSIVE(touch());
  EXPECT_EQ(evaluated, int{kCheapChecks} + int{kExpensiveChecks});
}

}  // namespace
}  // namespace allocators
