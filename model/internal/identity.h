// model/internal/identity.h: the exact trie of the keys 0..N-1 when the hash is the identity
// (std::hash<int64_t> in libstdc++), inserted in order.
//
// Then nothing is random. The keys below the node for prefix p at depth d are p, p + Q_d,
// p + 2 Q_d, ... (Q_d = 2^PrefixBits(d)): after k inserts, k = a Q_d + b, the b prefixes below b
// hold a + 1 keys and the others a. The i-th key of a prefix goes to cell i mod m, so a node of K
// keys is round-robin: (0, K) while K < m, (K - m, 2m - K) while K < 2m, then full (m, 0). Insert k
// walks to the deepest depth t with floor(k / Q_t) >= 2 (or the root) and meets K = floor(k / Q_t)
// keys there: below m cells it adds an entry ((0, K) -> (0, K + 1)), from m on it pushes one down
// ((K - m, 2m - K) -> (K - m + 1, 2m - K - 1), plus one (0, 2) node one level below: the two keys
// differ by Q_{t+1}, so in the very next fragment). Only one depth changes at a time: depth t
// during k in [2 Q_t, 2 Q_{t+1}), in rounds of Q_t inserts that each add one key to every prefix.
//
// So the build's totals are sums over (t, K) with multiplicities, the live counts are linear within
// a round (a recycler's peaks fall on round ends), and everything is O(levels * m).
//
// This is not a uniform hash: the trie is perfectly balanced, no node at depth t+2 exists before
// all of depth t are full, and its demand per key oscillates much harder than the uniform model's.
#ifndef HAMT_ALLOC_MODEL_INTERNAL_IDENTITY_H_
#define HAMT_ALLOC_MODEL_INTERNAL_IDENTITY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "model/internal/expectations.h"
#include "model/layout.h"

namespace model::internal {

class IdentityTrie {
 public:
  explicit IdentityTrie(const Layout& layout);

  // Keys the hash can tell apart: min(2^hash_bits, 2^63) (the keys are int64 >= 0).
  std::uint64_t MaxKeys() const { return max_keys_; }

  // What inserting key k into the trie of keys 0..k-1 does. k < MaxKeys().
  struct InsertStep {
    unsigned allocations = 0;               // 1 or 2 (a push-down adds its (0, 2) node)
    std::uint64_t alloc_slots[2] = {0, 0};  // in allocation order
    std::uint64_t alloc_bytes[2] = {0, 0};
    bool frees = false;
    std::uint64_t freed_slots = 0;
  };
  InsertStep Insert(std::uint64_t k) const;

  // Totals of the inserts of keys 0..n-1.
  struct Totals {
    double allocations = 0, bytes = 0, slots = 0, frees = 0;
  };
  Totals Build(std::uint64_t n) const;
  std::vector<double> AllocationsBySlots(std::uint64_t n, std::size_t sizes) const;

  // Live nodes by size in slots in the trie of keys 0..k-1 (out sized by the caller).
  void LiveBySlots(std::uint64_t k, std::vector<double>& out) const;
  double Nodes(std::uint64_t k) const;

  ShapeDetail Shape(std::uint64_t n) const;

  // Blocks of each size a recycler carves over the inserts of keys 0..n-1: the maximum over the
  // build of the live blocks of that size right after an insert's allocations.
  std::vector<double> RecyclerBlocks(std::uint64_t n, std::size_t sizes) const;

  // Largest slot count of any node of a trie of n keys, plus one (per-size vector length).
  std::size_t SizeCount() const { return size_count_; }

 private:
  // Calls add(step, times) for every class of inserts among keys 0..n-1 that behave alike: the
  // root's inserts one by one, then each round of each depth once, weighted by its length.
  void ForEachInsertClass(std::uint64_t n,
                          const std::function<void(const InsertStep&, double)>& add) const;
  // Node shape of a round-robin node of K keys in m cells.
  static void RoundRobin(std::uint64_t keys, unsigned cells, unsigned* children, unsigned* entries);

  Layout layout_;
  std::uint64_t max_keys_;
  std::size_t size_count_;
};

}  // namespace model::internal

#endif  // HAMT_ALLOC_MODEL_INTERNAL_IDENTITY_H_
