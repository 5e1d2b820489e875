// model/demand_model.h: an analytic model of the trie's allocations: its shape, what a build of N
// inserts asks of a bump pool and of a per-size recycler, and when a pool of C slots runs out,
// computed from N and the node layout without building a map.
//
//   model::DemandModel m;                                   // int64 -> int64, 8-byte slots
//   m.Shape(100'000).SlotsPerEntry();                       // live slots per key
//   m.Build(100'000).bump_slots;                            // BumpPool slots_demanded
//   m.ExhaustionN(model::Policy::kBumpPool, 65'536);        // largest N without a fallback
//   m.FallbackShare(model::Policy::kBumpPool, 65'536, 100'000);
//   m.RecommendedSlots(model::Policy::kBumpPool, 1'000'000, /*headroom_pct=*/20);
//
// The math (details in the internal header named):
//  - Shape (internal/expectations.h). A node at depth d >= 1 exists iff two or more keys share its
//    first PrefixBits(d) hash bits; its children are the cells holding >= 2 keys, its entries the
//    cells holding one. With uniform hashes the keys per prefix are Binomial(N, 2^-PrefixBits(d))
//    and the cells of a node of K keys are K balls in m urns, whose exact (children, entries) law
//    is an urn chain (internal/urn.h). Nodes per key oscillate log-periodically with period a
//    factor 2^bits_per_level in N, as for every digital tree (Knuth, TAOCP vol. 3, 6.3; Flajolet &
//    Sedgewick, "Analytic Combinatorics", 2009, ch. VII.8 and the Mellin analyses of tries there).
//    Live bytes = header * nodes + child * (nodes - 1) + entry * N, since every node but the root
//    is somebody's child. Exact.
//  - Build cost (same file, internal/timeline.h). A new key allocates at depth d iff the node there
//    is the deepest that existed or lies below it (a push-down chain): (d = 0 or Y_d >= 1) and
//    Y_{d+1} <= 1, Y_d = keys sharing its depth-d prefix. The block is the node after the insert;
//    exactly one block, the old deepest node, is freed. The per-insert expectations are exact; the
//    build sums them over k = 0..N-1: exactly for k < 1,024, beyond by quadrature on a log-spaced
//    grid (24 points per factor e; estimated relative error ~1e-7).
//  - Recycler (internal/running_max.h). A per-size free list carves fresh blocks of size s only
//    when every block of size s it carved is live, so it carves E[max over the build of live
//    blocks of size s], counted right after each allocation (a grown node and its predecessor
//    coexist; experiments/demand_model/check_test.cc checks the rule on the real SlotRecycler).
//    The expected maximum is a Poisson clumping estimate: the one approximation whose error does
//    not vanish with the grid (-1.4% at N = 1K, within 0.6% from 3K on, measured).
//  - Pools. A bump pool serves every request until the first that does not fit: the expected
//    largest N without fallback solves E[demand(N)] = C. Past it every allocation falls back except
//    the few that still fit in the leftover: their expected number, from the size distribution of
//    the requests (the failing one size-biased, the leftover uniform below it), is about 2
//    (measured on the real BumpPool: 1.5 at C = 65,536, 1.2 at 4,194,304), which matters only
//    right after exhaustion (0.05 points of share at N = 3,000). A recycler past exhaustion keeps
//    serving a size while its free list holds blocks; freed blocks are pool blocks in proportion
//    to their share of the live blocks of their size (full nodes, never freed, aside): a
//    mean-field flow per size. It ignores the free lists' fluctuations (a list that is empty now
//    and then although supply matches demand on average), hence fallbacks 0.3-0.7 points low in
//    the first few exhaustion N beyond the exhaustion point.
//
// Accuracy against the real allocators (keys 0..N-1, StableHash, mean of 5 seeds, N = 1K..10M,
// pools of 65,536 and 4,194,304 slots): bump demand within 1.0% (0.2% from 3K on), live bytes per
// entry within 0.1%, allocations within 0.1%, recycler demand within 1.4%, fallback share within
// 0.7 points (bump: 0.5 at N = 3K, right after exhaustion; recycler: -0.66 at 30K), exhaustion N
// within 0.6%. The biggest misses sit right after an exhaustion: expectations of a kinked or
// reflected quantity (a seed's own exhaustion N spreads by 1.6% at C = 65,536).
//
// Assumptions: distinct keys inserted one at a time into an empty map, no erase; hashes uniform
// (HashAssumption::kUniform: i.i.d. over 2^hash_bits values; a bijective hash of distinct keys,
// like the experiments' MurmurHash3 finalizer, differs only at the collision level, by
// O(N^2 / 2^hash_bits)), or the identity of the keys 0..N-1 in order (HashAssumption::kIdentity:
// std::hash<int64_t> in libstdc++; the trie is then deterministic and computed exactly, see
// internal/identity.h). Results are expectations over the hash: one trie at small N deviates by a
// few percent (bump demand: 2.3% from seed to seed at N = 1,000, 0.4% at 10,000).
//
// Cost (CPU time on the 2-core development VM): a model tabulates its urn chains once (~70 ms,
// ~8 MB). Shape: < 1 ms. Build: ~0.1 s for any N up to 10^9 (most of it the recycler's maxima);
// a bump pool's DemandSlots, ExhaustionN, FallbackShare and Pool: < 10 ms; a recycler's: 0.2 to
// 0.3 s (a search over maxima); Curve: ~25 ms per point. Every method is const; a model can be
// shared between threads.
#ifndef HAMT_ALLOC_MODEL_DEMAND_MODEL_H_
#define HAMT_ALLOC_MODEL_DEMAND_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/layout.h"

namespace model {

namespace internal {
class TrieExpectations;
class IdentityTrie;
}  // namespace internal

enum class HashAssumption {
  kUniform,   // i.i.d. uniform hash values (any good hash; the experiments' StableHash)
  kIdentity,  // hash(key) = key for the keys 0..N-1 in order (std::hash<int64_t>)
};
std::string_view HashAssumptionName(HashAssumption hash);

// The two pool policies of allocators/, by what they do (AllocStats semantics): BumpPool never
// reuses a block; SlotRecycler reuses freed blocks of the same slot count before carving fresh
// ones. Both fall back to malloc for a request that does not fit in what is left of the pool.
enum class Policy { kBumpPool, kSlotRecycler };
std::string_view PolicyName(Policy policy);
inline constexpr Policy kAllPolicies[] = {Policy::kBumpPool, Policy::kSlotRecycler};

// One class of node: `children` children and `entries` entries.
struct NodeClass {
  unsigned children = 0;
  std::uint64_t entries = 0;
  bool collision = false;  // a collision node (all hash bits shared)
  std::uint64_t bytes = 0;
  std::uint64_t slots = 0;
  double nodes = 0;  // expected number of such nodes
};

// The expected trie after N inserts.
struct TrieShape {
  std::uint64_t n = 0;
  double nodes = 0;
  double live_bytes = 0;               // what AllocStats::live_bytes reports after the build
  double live_slots = 0;               // sum of the nodes' slot counts
  std::vector<double> nodes_by_depth;  // [0, BitmapLevels()]: the last is the collision level
  // Classes with nodes > 1e-12, by (collision, children, entries).
  std::vector<NodeClass> histogram;
  std::vector<double> nodes_by_slots;  // [s]: expected nodes of s slots

  double BytesPerEntry() const { return n == 0 ? 0 : live_bytes / static_cast<double>(n); }
  double SlotsPerEntry() const { return n == 0 ? 0 : live_slots / static_cast<double>(n); }
};

// The expected allocation traffic of building the map by N inserts, on unbounded pools. Field names
// follow allocators::AllocStats.
struct BuildCost {
  std::uint64_t n = 0;
  double allocations = 0;
  double deallocations = 0;
  double bytes_allocated = 0;
  double bytes_deallocated = 0;
  double live_bytes = 0;
  double live_slots = 0;
  double bump_slots = 0;                     // BumpPool slots_demanded: every allocation's slots
  double recycler_slots = 0;                 // SlotRecycler slots_demanded: fresh carves only
  double recycler_reused_allocations = 0;    // SlotRecycler reused_allocations
  std::vector<double> allocations_by_slots;  // [s]: allocations of s slots (bump pool)
  std::vector<double> recycler_blocks_by_slots;  // [s]: blocks of s slots the recycler carves
  // Estimated relative error of the quadrature over the inserts (0 when summed exactly).
  double quadrature_error = 0;

  double BumpSlotsPerEntry() const { return PerEntry(bump_slots); }
  double RecyclerSlotsPerEntry() const { return PerEntry(recycler_slots); }
  double AllocationsPerEntry() const { return PerEntry(allocations); }

 private:
  double PerEntry(double v) const { return n == 0 ? 0 : v / static_cast<double>(n); }
};

// A build of N inserts over a pool of `capacity_slots` slots that falls back to malloc.
struct PoolPrediction {
  Policy policy = Policy::kBumpPool;
  std::uint64_t capacity_slots = 0;
  std::uint64_t n = 0;
  // Expected largest N served without any fallback; +infinity when the pool never runs out
  // within 2^hash_bits keys (or 10^12, whichever is less).
  double exhaustion_n = 0;
  double allocations = 0;
  double fallback_allocations = 0;
  double fallback_share = 0;  // fallback_allocations / allocations, in [0, 1]
  double slots_demanded = 0;  // AllocStats::slots_demanded (a recycler's counts its fallbacks too)
};

// slots per entry and friends at one N, for plots against N.
struct CurvePoint {
  std::uint64_t n = 0;
  double bump_slots_per_entry = 0;
  double recycler_slots_per_entry = 0;
  double live_bytes_per_entry = 0;
  double live_slots_per_entry = 0;
  double allocations_per_entry = 0;
};

// Expected nodes on the path from the root to one of N keys (uniform hashes), the root included:
// what a persistent update of an existing key copies (hamt::PersistentMap). A node at depth d >= 1
// is on the key's path iff another of the N - 1 keys shares its first PrefixBits(d) bits, so the
// expectation is 1 + sum over d of 1 - (1 - 2^-PrefixBits(d))^(N - 1). Exact; no tables (N >= 1).
double ExpectedPathNodes(const Layout& layout, std::uint64_t n);

class DemandModel {
 public:
  // Throws std::invalid_argument when layout.Check() reports a problem.
  explicit DemandModel(Layout layout = {}, HashAssumption hash = HashAssumption::kUniform);
  ~DemandModel();
  DemandModel(DemandModel&&) noexcept;
  DemandModel& operator=(DemandModel&&) noexcept;

  const Layout& layout() const { return layout_; }
  HashAssumption hash() const { return hash_; }

  // The expected trie after N inserts. O(depths * binomial window).
  TrieShape Shape(std::uint64_t n) const;

  // The expected traffic of the N inserts that build it (recycler included: the costly part,
  // ~0.1 s).
  BuildCost Build(std::uint64_t n) const;

  // Slots demanded by a build of N on an unbounded pool of this policy: Build(n).bump_slots or
  // .recycler_slots (the bump one without the recycler's cost).
  double DemandSlots(Policy policy, std::uint64_t n) const;

  // Expected largest N whose build never falls back, for a pool of `capacity_slots`; +infinity
  // when it never runs out (see PoolPrediction::exhaustion_n).
  double ExhaustionN(Policy policy, std::uint64_t capacity_slots) const;

  // Expected fallback allocations / allocations of a build of N on that pool, in [0, 1]. NaN for a
  // recycler under the identity hash past exhaustion (see Warnings).
  double FallbackShare(Policy policy, std::uint64_t capacity_slots, std::uint64_t n) const;

  // Everything about one (policy, pool, N) cell.
  PoolPrediction Pool(Policy policy, std::uint64_t capacity_slots, std::uint64_t n) const;

  // The pool size for a build of N: expected demand * (1 + headroom_pct / 100), rounded up.
  // headroom_pct >= 0; covers the seed-to-seed spread (a few percent at small N).
  std::uint64_t RecommendedSlots(Policy policy, std::uint64_t n, double headroom_pct) const;

  // `points` values of N log-spaced over [n_min, n_max] (rounded, distinct, both ends included)
  // with their per-entry figures, from one pass over the build (plus one recycler maximum per
  // point, ~50 ms each). 1 <= n_min <= n_max, points >= 1.
  std::vector<CurvePoint> Curve(std::uint64_t n_min, std::uint64_t n_max, int points) const;

  // Where this model's assumptions are shaky for a build of N, one sentence each (empty: none).
  std::vector<std::string> Warnings(std::uint64_t n) const;

 private:
  Layout layout_;
  HashAssumption hash_;
  std::unique_ptr<internal::TrieExpectations> uniform_;
  std::unique_ptr<internal::IdentityTrie> identity_;
};

}  // namespace model

#endif  // HAMT_ALLOC_MODEL_DEMAND_MODEL_H_
