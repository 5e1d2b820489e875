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
// The math (details where each part is computed):
//  - Shape (internal/expectations.h). A node at depth d >= 1 exists iff two or more keys share its
//    first PrefixBits(d) hash bits; its children are the cells holding >= 2 keys, its entries the
//    cells holding one. With uniform hashes the keys per prefix are Binomial(N, 2^-PrefixBits(d))
//    and the cells of a node of K keys are K balls in m urns, whose exact (children, entries)
//    distribution is an urn chain (internal/urn.h). Nodes per key oscillate log-periodically with
//    period a factor 2^bits_per_level in N, as for every digital tree (Knuth, TAOCP vol. 3, 6.3;
//    Flajolet & Sedgewick, "Analytic Combinatorics", 2009, ch. VII.8 and the Mellin analyses of
//    tries there). Live bytes = header * nodes + child * (nodes - 1) + entry * N exactly, since every
//    node but the root is somebody's child.
//  - Build cost (same file). An insert of a new key allocates at depth d iff the node there is the
//    deepest one that existed or lies below it (push-down chain): (d = 0 or Y_d >= 1) and
//    Y_{d+1} <= 1, Y_d = keys sharing the new key's depth-d prefix. Its block is the node after the
//    insert; exactly one block (the old deepest node) is freed. The per-insert expectations are
//    exact; the build sums them over k = 0..N-1: exactly for k < 1,024, beyond by quadrature on a
//    log-spaced grid in k (piecewise quadratic, error estimated against the trapezoid rule on the
//    same points and the grid doubled until below 1e-6 relative).
//  - The recycler carves fresh blocks of size s only when all blocks of size s it carved are live,
//    so it carves E[max over the build of live blocks of size s] (counted right after each
//    allocation, so a grown node and its predecessor coexist). That expected maximum is the
//    Poisson clumping estimate of internal/running_max.h; it is the one approximated quantity
//    whose error does not vanish with the grid (see there: +2-3% at N <= 10K, ~0.1% beyond).
//  - Pools. A bump pool serves every request until the first that does not fit; the expected
//    largest N without fallback solves demand(N) = C. Past it, every later allocation falls back
//    except the few that still fit in the leftover (their expected number, a handful, is computed
//    from the allocation sizes). A recycler past exhaustion keeps serving sizes whose free lists
//    hold blocks: a mean-field flow per size (pool blocks are freed in proportion to their share
//    of the live blocks of that size) gives its fallbacks.
//
// Assumptions: keys are distinct and inserted one at a time into an empty map (no erase); hashes
// are uniform (HashAssumption::kUniform: i.i.d. over 2^hash_bits values; a bijective hash of
// distinct keys, like the experiments' MurmurHash3 finalizer, differs only at the collision level,
// by O(N^2 / 2^hash_bits)), or the identity of the keys 0..N-1 (HashAssumption::kIdentity:
// std::hash<int64_t> in libstdc++; then the trie is deterministic and computed exactly, see
// internal/identity.h). All results are expectations over the hash; a single trie at small N
// deviates from them by a few percent (seed-to-seed spread: ~2% of bump demand at N = 1,000).
//
// Cost: constructing a model tabulates the urn chains (~10 ms, ~8 MB). Shape is O(depths * window).
// Build, ExhaustionN, FallbackShare and Pool are O(grid * window) with a grid of a few hundred points
// per decade... of which a few decades: well under a second for any N up to 10^9 (recycler
// quantities take most of it). Every method is const and thread-compatible.
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

// The two pool policies of allocators/: BumpPool never reuses a block; SlotRecycler reuses freed
// blocks of the same slot count before carving fresh ones.
enum class Policy { kBumpPool, kSlotRecycler };
std::string_view PolicyName(Policy policy);

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
  double live_bytes = 0;  // what AllocStats::live_bytes reports after the build
  double live_slots = 0;  // sum of the nodes' slot counts
  std::vector<double> nodes_by_depth;  // [0, BitmapLevels()]: the last is the collision level
  std::vector<NodeClass> histogram;    // classes with nodes > 1e-12, by (collision, children, entries)
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
  double bump_slots = 0;      // BumpPool slots_demanded: every allocation's slots
  double recycler_slots = 0;  // SlotRecycler slots_demanded: fresh carves only
  double recycler_reused_allocations = 0;  // SlotRecycler reused_allocations
  std::vector<double> allocations_by_slots;     // [s]: allocations of s slots (bump pool)
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

  // The expected traffic of the N inserts that build it (recycler included: the costly part).
  BuildCost Build(std::uint64_t n) const;

  // Slots demanded by a build of N on an unbounded pool of this policy: Build(n).bump_slots or
  // .recycler_slots (the bump one without the recycler's cost).
  double DemandSlots(Policy policy, std::uint64_t n) const;

  // Expected largest N whose build never falls back, for a pool of `capacity_slots`; +infinity
  // when it never runs out (see PoolPrediction::exhaustion_n).
  double ExhaustionN(Policy policy, std::uint64_t capacity_slots) const;

  // Expected fallback allocations / allocations of a build of N on that pool, in [0, 1].
  double FallbackShare(Policy policy, std::uint64_t capacity_slots, std::uint64_t n) const;

  // Everything about one (policy, pool, N) cell.
  PoolPrediction Pool(Policy policy, std::uint64_t capacity_slots, std::uint64_t n) const;

  // The pool size for a build of N: expected demand * (1 + headroom_pct / 100), rounded up.
  // headroom_pct >= 0; covers the seed-to-seed spread (a few percent at small N).
  std::uint64_t RecommendedSlots(Policy policy, std::uint64_t n, double headroom_pct) const;

  // `points` values of N log-spaced over [n_min, n_max] (rounded, distinct, both ends included)
  // with their per-entry figures, from one pass over the build. 1 <= n_min <= n_max, points >= 1.
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
