// Tests every allocator policy of the registry through the same typed suite (alignment, exact
// telemetry, moves, the uncounted variant), the registry's by-name construction (pools over any
// fallback), then the library-backed backends' own behavior (heaps and arenas, load errors).
// main() re-executes the test with the static-TLS tunable (private_library.h), so this also proves
// that path.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "allocators/private_library.h"
#include "allocators/process_malloc.h"
#include "allocators/registry.h"
#include "allocators/sanitizers.h"
#include "allocators/testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace allocators {
namespace {

using ::testing::HasSubstr;

PolicyOptions Options() {
  PolicyOptions options;
  options.pool = {.capacity_slots = 1 << 20, .quiet = true};
  return options;
}

template <class Line>
class EveryPolicyTest : public ::testing::Test {};
TYPED_TEST_SUITE(EveryPolicyTest, Registry::apply<::testing::Types>, LineName);

TYPED_TEST(EveryPolicyTest, BlocksAreAlignedDistinctAndWritable) {
  CheckedSizePolicy<PolicyOf<TypeParam>> policy(MakePolicy<TypeParam>(Options()));
  std::vector<std::pair<void*, std::size_t>> blocks;
  for (std::size_t bytes = 0; bytes <= 1024; ++bytes) {
    void* p = policy.allocate(bytes);
    std::memset(p, 0xab, bytes);
    blocks.emplace_back(p, bytes);
  }
  for (std::size_t bytes : {24, 40, 72, 136, 264, 4096, 65536, 1 << 20}) {
    void* p = policy.allocate(bytes);
    std::memset(p, 0xcd, bytes);
    blocks.emplace_back(p, bytes);
  }
  for (auto [p, bytes] : blocks) policy.deallocate(p, bytes);
  EXPECT_EQ(policy.stats().live_bytes, 0u);
  EXPECT_EQ(policy.stats().allocations, blocks.size());
}

TYPED_TEST(EveryPolicyTest, ScriptedTelemetryIsExact) {
  PolicyOf<TypeParam> policy = MakePolicy<TypeParam>(Options());
  void* a = policy.allocate(24);
  void* b = policy.allocate(40);
  void* c = policy.allocate(0);
  void* d = policy.allocate(264);
  policy.deallocate(b, 40);
  void* e = policy.allocate(72);
  const AllocStats mid = policy.stats();
  EXPECT_EQ(mid.allocations, 5u);
  EXPECT_EQ(mid.deallocations, 1u);
  EXPECT_EQ(mid.bytes_allocated, 400u);
  EXPECT_EQ(mid.bytes_deallocated, 40u);
  EXPECT_EQ(mid.live_bytes, 360u);
  EXPECT_EQ(mid.peak_live_bytes, 360u);
  policy.deallocate(e, 72);
  policy.deallocate(a, 24);
  policy.deallocate(d, 264);
  policy.deallocate(c, 0);
  AllocStats expected;
  expected.allocations = 5;
  expected.deallocations = 5;
  expected.bytes_allocated = 400;
  expected.bytes_deallocated = 400;
  expected.live_bytes = 0;
  expected.peak_live_bytes = 360;
  if constexpr (TypeParam::owns_pool) {
    // 3 + 5 + 1 + 33 + 9 slots; the recycler's 72-byte request (9 slots) finds no 9-slot block.
    expected.capacity_slots = 1 << 20;
    expected.slots_demanded = 51;
    expected.high_water_slots = 51;
    // A growing pool's first chunk is the capacity asked for; these 51 slots need no other.
    if constexpr (TypeParam::name.starts_with("growing")) expected.pool_chunks = 1;
  }
  EXPECT_EQ(policy.stats(), expected);
}

TYPED_TEST(EveryPolicyTest, MoveTransfersStats) {
  PolicyOf<TypeParam> a = MakePolicy<TypeParam>(Options());
  void* p = a.allocate(40);
  const AllocStats before = a.stats();
  ASSERT_EQ(before.live_bytes, 40u);
  PolicyOf<TypeParam> b(std::move(a));
  EXPECT_EQ(b.stats(), before);
  EXPECT_EQ(a.stats(), AllocStats{});
  PolicyOf<TypeParam> c = MakePolicy<TypeParam>(Options());
  void* q = c.allocate(8);
  c.deallocate(q, 8);
  c = std::move(b);
  EXPECT_EQ(c.stats(), before);
  c.deallocate(p, 40);
  EXPECT_EQ(c.stats().live_bytes, 0u);
  EXPECT_EQ(c.stats().deallocations, 1u);
}

// The bug class of the first version (a policy that zeroed its own stats on self-move): one
// wrapper, Counted, makes self-move-assignment a no-op for every backend.
TYPED_TEST(EveryPolicyTest, SelfMoveAssignmentKeepsEverything) {
  PolicyOf<TypeParam> policy = MakePolicy<TypeParam>(Options());
  void* p = policy.allocate(40);
  const AllocStats before = policy.stats();
  PolicyOf<TypeParam>& alias = policy;
  policy = std::move(alias);
  EXPECT_EQ(policy.stats(), before);
  void* q = policy.allocate(24);  // the backend still works
  policy.deallocate(q, 24);
  policy.deallocate(p, 40);
  EXPECT_EQ(policy.stats().live_bytes, 0u);
}

// Same allocations, no telemetry: stats() reads zero throughout, and says so.
TYPED_TEST(EveryPolicyTest, UncountedServesTheSameAndCountsNothing) {
  using Policy = PolicyOf<TypeParam, Telemetry::kOff>;
  static_assert(!IsCounted<Policy>() && IsCounted<PolicyOf<TypeParam>>());
  static_assert(AllocatorPolicy<Policy>);
  CheckedSizePolicy<Policy> policy(MakePolicy<TypeParam, Telemetry::kOff>(Options()));
  std::vector<std::pair<void*, std::size_t>> blocks;
  for (std::size_t bytes = 0; bytes <= 300; bytes += 3) blocks.emplace_back(policy.allocate(bytes), bytes);
  EXPECT_EQ(policy.stats(), AllocStats{});
  for (auto [p, bytes] : blocks) policy.deallocate(p, bytes);
  EXPECT_EQ(policy.stats(), AllocStats{});
  EXPECT_LT(sizeof(Policy), sizeof(PolicyOf<TypeParam>));
}

TEST(UncountedTest, StatelessBackendCostsNothing) {
  static_assert(std::is_empty_v<Uncounted<MallocBackend>>);
  static_assert(sizeof(MallocPolicy) == sizeof(AllocStats));
}

// ---- The registry by name ----

TEST(RegistryTest, NamesAreCanonicalAndUnique) {
  const std::vector<std::string_view> names = PolicyNames();
  ASSERT_EQ(names.size(), Registry::size);
  for (std::size_t i = 0; i < names.size(); ++i) {
    for (char c : names[i]) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') << names[i];
    for (std::size_t j = 0; j < i; ++j) EXPECT_NE(names[i], names[j]);
    ASSERT_NE(FindPolicy(names[i]), nullptr);
    EXPECT_EQ(FindPolicy(names[i])->name, names[i]);
  }
  EXPECT_EQ(FindPolicy("jemalloc-arena"), nullptr);
  EXPECT_NE(FindPolicy("jemalloc_arena"), nullptr);
  EXPECT_TRUE(FindPolicy("bump_pool")->owns_pool);
  EXPECT_FALSE(FindPolicy("malloc")->owns_pool);
  EXPECT_TRUE(FindPolicy("jemalloc")->needs_static_tls);
  const std::vector<std::string_view> kLibraries = {"malloc", "mimalloc", "jemalloc", "tcmalloc"};
  EXPECT_THAT(FallbackNames(), ::testing::IsSupersetOf(kLibraries));
}

TEST(RegistryTest, WithPolicyMakesThePolicyNamed) {
  for (std::string_view name : PolicyNames()) {
    const std::uint64_t capacity = WithPolicy(name, Options(), [](auto policy) {
      void* p = policy.allocate(40);
      policy.deallocate(p, 40);
      EXPECT_EQ(policy.stats().allocations, 1u);
      return policy.stats().capacity_slots;
    });
    EXPECT_EQ(capacity, FindPolicy(name)->owns_pool ? 1u << 20 : 0u) << name;
  }
}

TEST(RegistryTest, UnknownNamesListTheKnownOnes) {
  EXPECT_THAT([] { WithPolicy("jemalloc-arena", Options(), [](auto) {}); },
              ::testing::ThrowsMessage<std::invalid_argument>(
                  HasSubstr("unknown policy 'jemalloc-arena'; known: malloc, mimalloc")));
  PolicyOptions options = Options();
  options.fallback = "mimalloc_heap";  // not a fallback by name: it serves one thread only
  EXPECT_THAT([&] { WithPolicy("bump_pool", options, [](auto) {}); },
              ::testing::ThrowsMessage<std::invalid_argument>(
                  HasSubstr("unknown fallback 'mimalloc_heap'; known: malloc, mimalloc, jemalloc")));
  using BumpPoolLine = PoolLine<"bump_pool", BumpArena>;
  EXPECT_THROW((void)MakePolicy<BumpPoolLine>(options), std::invalid_argument);
}

// A pool falls back to any backend: a 0-slot pool sends every block to the one named, and frees
// go back to it.
TEST(RegistryTest, PoolsFallBackToTheBackendNamed) {
  for (std::string_view pool : {"bump_pool", "slot_recycler"}) {
    for (std::string_view fallback : FallbackNames()) {
      SCOPED_TRACE(std::string(pool) + " over " + std::string(fallback));
      PolicyOptions options;
      options.pool = {.capacity_slots = 0, .quiet = true};
      options.fallback = std::string(fallback);
      // fn is instantiated for every policy; only pools reach this call.
      WithPolicy(pool, options, [&](auto policy) {
        void* p = policy.allocate(40);
        if constexpr (requires { policy.backend().secondary(); }) {
          const auto& secondary = policy.backend().secondary();
          using Secondary = std::remove_cvref_t<decltype(secondary)>;
          if constexpr (std::is_same_v<Secondary, MimallocBackend>) {
            EXPECT_TRUE(secondary.api().mi_check_owned(p));
          } else if constexpr (std::is_same_v<Secondary, JemallocBackend>) {
            EXPECT_EQ(secondary.api().sallocx(p, 0), 48u);
          }
        } else {
          ADD_FAILURE() << "not a pool";
        }
        policy.deallocate(p, 40);
        AllocStats expected;
        expected.allocations = expected.deallocations = expected.fallback_allocations =
            expected.fallback_deallocations = 1;
        expected.bytes_allocated = expected.bytes_deallocated = expected.peak_live_bytes =
            expected.fallback_bytes = 40;
        expected.slots_demanded = 5;  // demanded of the pool, then sent to the fallback
        EXPECT_EQ(policy.stats(), expected);
      });
    }
  }
}

TEST(RegistryTest, UncountedByName) {
  PolicyOptions options = Options();
  options.fallback = "tcmalloc";
  WithPolicy<Telemetry::kOff>("slot_recycler", options, [](auto policy) {
    static_assert(!IsCounted<decltype(policy)>());
    void* p = policy.allocate(24);
    if constexpr (OwningAllocatorPolicy<decltype(policy)>) {
      EXPECT_TRUE(policy.owns(p));
    }
    // Compared as an address: fn is instantiated for every line, malloc's too, and g++ warns
    // about reading a pointer after free().
    const auto address = reinterpret_cast<std::uintptr_t>(p);
    policy.deallocate(p, 24);
    void* again = policy.allocate(24);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(again), address);  // recycled, uncounted
    policy.deallocate(again, 24);
    EXPECT_EQ(policy.stats(), AllocStats{});
  });
}

// ---- Library-backed policies ----

TEST(PrivateLibraryTest, ProcessMallocIsUnchangedByPrivateLoading) {
  MimallocPolicy mi;
  JemallocPolicy je;
  TcmallocPolicy tc;
#if defined(HAMT_ADDRESS_SANITIZER)
  EXPECT_EQ(DetectProcessMalloc().name, "asan");
#elif defined(HAMT_THREAD_SANITIZER)
  EXPECT_EQ(DetectProcessMalloc().name, "tsan");
#else
  EXPECT_EQ(DetectProcessMalloc().name, "glibc") << DetectProcessMalloc().Describe();
#endif
}

TEST(PrivateLibraryTest, MainReexecutedWithTheStaticTlsTunable) {
  EXPECT_TRUE(HasStaticTlsTunable());
}

TEST(PrivateLibraryTest, MissingLibraryNamesItAndDlerror) {
  try {
    PrivateLibrary::Open("libhamt_no_such_allocator.so.7");
    FAIL() << "no exception";
  } catch (const LibraryLoadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot load libhamt_no_such_allocator.so.7: "));
    EXPECT_THAT(e.what(), HasSubstr("No such file"));
  }
}

TEST(PrivateLibraryTest, MissingSymbolNamesIt) {
  const PrivateLibrary lib = PrivateLibrary::Open(kMimallocSoname);
  EXPECT_THAT(lib.path(), HasSubstr("libmimalloc.so.2"));
  try {
    lib.symbol("hamt_no_such_symbol");
    FAIL() << "no exception";
  } catch (const LibraryLoadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("libmimalloc.so.2 has no symbol hamt_no_such_symbol"));
  }
}

TEST(MimallocPolicyTest, BlocksComeFromMimalloc) {
  MimallocPolicy policy;
  void* p = policy.allocate(40);
  EXPECT_TRUE(policy.backend().api().mi_check_owned(p));  // in this thread's default heap
  policy.deallocate(p, 40);
}

TEST(MimallocHeapPolicyTest, OwnsItsBlocksOnly) {
  MimallocHeapPolicy a;
  MimallocHeapPolicy b;
  void* pa = a.allocate(40);
  void* pb = b.allocate(40);
  EXPECT_TRUE(a.owns(pa));
  EXPECT_FALSE(a.owns(pb));
  EXPECT_TRUE(b.owns(pb));
  MimallocPolicy plain;
  void* pm = plain.allocate(40);
  EXPECT_FALSE(a.owns(pm));
  plain.deallocate(pm, 40);
  a.deallocate(pa, 40);
  b.deallocate(pb, 40);
  MimallocHeapPolicy moved(std::move(a));
  EXPECT_FALSE(a.owns(pa));  // moved-from: no heap
}

TEST(MimallocHeapPolicyTest, DestroyReleasesLiveBlocksAndMigrateKeepsThem) {
  const MimallocApi& api = Mimalloc();
  {
    MimallocHeapPolicy policy;
    for (int i = 0; i < 1000; ++i) (void)policy.allocate(72);  // dropped without freeing
    EXPECT_EQ(policy.stats().live_bytes, 72000u);
  }  // mi_heap_destroy: all 1000 gone, no leak, no crash
  void* survivor = nullptr;
  {
    MimallocHeapPolicy policy(HeapRelease::kMigrateLiveBlocks);
    survivor = policy.allocate(72);
    std::memset(survivor, 1, 72);
  }  // mi_heap_delete: the block moves to the default heap
  EXPECT_TRUE(api.mi_check_owned(survivor));  // migrated to the default heap
  EXPECT_EQ(static_cast<unsigned char*>(survivor)[71], 1);
  api.mi_free(survivor);
}

TEST(JemallocArenaPolicyTest, DedicatedArenaPerPolicy) {
  JemallocArenaPolicy a;
  JemallocArenaPolicy b;
  EXPECT_NE(a.backend().arena_index(), b.backend().arena_index());
  EXPECT_NE(a.backend().tcache_index(), b.backend().tcache_index());
  void* pa = a.allocate(40);
  void* pb = b.allocate(40);
  EXPECT_TRUE(a.owns(pa));
  EXPECT_FALSE(a.owns(pb));
  EXPECT_TRUE(b.owns(pb));
  JemallocPolicy plain;
  void* pj = plain.allocate(40);
  EXPECT_FALSE(a.owns(pj));
  EXPECT_EQ(plain.backend().api().sallocx(pj, 0), 48u);  // jemalloc's size class for 40 bytes
  plain.deallocate(pj, 40);
  a.deallocate(pa, 40);
  b.deallocate(pb, 40);
}

TEST(JemallocArenaPolicyTest, DestroyWithLiveBlocksAndRecreate) {
  ::testing::internal::CaptureStderr();
  for (int round = 0; round < 3; ++round) {
    JemallocArenaPolicy policy;
    for (int i = 0; i < 1000; ++i) (void)policy.allocate(136);  // dropped without freeing
  }  // tcache.destroy + arena.<i>.reset discard them
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");  // no mallctl failure warnings
}

TEST(JemallocArenaPolicyTest, ReleasedArenaIsReusedEmpty) {
  unsigned first = 0;
  {
    JemallocArenaPolicy policy;
    first = policy.backend().arena_index();
    for (int i = 0; i < 100; ++i) (void)policy.allocate(72);  // dropped without freeing
  }
  EXPECT_GE(JemallocArenaBackend::ReleasedArenaCount(), 1u);
  JemallocArenaPolicy reused;
  EXPECT_EQ(reused.backend().arena_index(), first);  // the last one released is taken first
  // The reset discarded the old blocks: the arena holds nothing but what we allocate now.
  const std::string allocated =
      "stats.arenas." + std::to_string(reused.backend().arena_index()) + ".small.allocated";
  auto arena_bytes = [&] {
    std::uint64_t epoch = 1;
    std::size_t epoch_size = sizeof(epoch);
    reused.backend().api().mallctl("epoch", &epoch, &epoch_size, &epoch, sizeof(epoch));
    std::size_t bytes = 0;
    std::size_t size = sizeof(bytes);
    EXPECT_EQ(reused.backend().api().mallctl(allocated.c_str(), &bytes, &size, nullptr, 0), 0);
    return bytes;
  };
  EXPECT_EQ(arena_bytes(), 0u);
  void* p = reused.allocate(72);
  EXPECT_TRUE(reused.owns(p));
  reused.deallocate(p, 72);
}

// Many short-lived policies (one per map, as the fuzzer and the matrix make them) must not grow
// jemalloc's metadata: destroying arenas did, by ~4 KB each.
TEST(JemallocArenaPolicyTest, ShortLivedPoliciesDoNotGrowMetadata) {
  auto metadata_bytes = [] {
    const JemallocApi& api = Jemalloc();
    std::uint64_t epoch = 1;
    std::size_t epoch_size = sizeof(epoch);
    api.mallctl("epoch", &epoch, &epoch_size, &epoch, sizeof(epoch));
    std::size_t bytes = 0;
    std::size_t size = sizeof(bytes);
    EXPECT_EQ(api.mallctl("stats.metadata", &bytes, &size, nullptr, 0), 0);
    return bytes;
  };
  auto cycle = [] {
    JemallocArenaPolicy policy;
    std::vector<void*> blocks;
    for (int i = 0; i < 200; ++i) blocks.push_back(policy.allocate(8 * (1 + i % 40)));
    for (int i = 0; i < 200; ++i) policy.deallocate(blocks[i], 8 * (1 + i % 40));
  };
  for (int i = 0; i < 10; ++i) cycle();  // warm up: the list and the tcaches' metadata
  const std::size_t before = metadata_bytes();
  for (int i = 0; i < 2000; ++i) cycle();
  const std::size_t after = metadata_bytes();
  EXPECT_LT(after, before + 256u * 1024) << before << " -> " << after << " bytes of metadata";
}

TEST(TcmallocPolicyTest, SizedFreeRoundTrip) {
  TcmallocPolicy policy;
  std::vector<void*> blocks;
  for (int i = 0; i < 10000; ++i) blocks.push_back(policy.allocate(24 + (i % 8) * 8));
  for (int i = 0; i < 10000; ++i) policy.deallocate(blocks[i], 24 + (i % 8) * 8);
  EXPECT_EQ(policy.stats().live_bytes, 0u);
  EXPECT_EQ(policy.stats().peak_live_bytes, 10000u * 24 + 1250u * 8 * (0 + 1 + 2 + 3 + 4 + 5 + 6 + 7));
}

}  // namespace
}  // namespace allocators

int main(int argc, char** argv) {
  allocators::ReexecWithStaticTlsIfNeeded(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
