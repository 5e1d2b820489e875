// hamt/hamt.h: hamt::Map, a hash array mapped trie (CHAMP layout) whose every node comes from an
// allocator policy (allocators/policy.h), so experiments can compare allocators on one structure.
//
//   hamt::Map<std::int64_t, std::int64_t, absl::Hash<std::int64_t>, std::equal_to<std::int64_t>,
//             allocators::BumpPool> map(allocators::BumpPool(options));
//   map.insert_or_assign(7, 49);
//   if (const std::int64_t* v = map.find(7)) ...
//   for (const auto& [key, value] : map) ...
//   map.allocator().stats().live_bytes
//
// An unordered map with unique keys. Keys and values are stored inline in exactly-sized node
// arrays, so pointers returned by find/try_emplace/insert_or_assign and all iterators are
// invalidated by the next insert or erase. Move-only: moving transfers the nodes and the policy
// they came from. K and V need alignment <= 8 and nothrow move constructors. The algorithms and
// the node layout are described in hamt/internal/champ.h. Nodes are exactly sized by default;
// hamt::RoundedNodes<S> rounds them up to size classes so that most inserts grow in place
// (hamt/node_sizing.h).
#ifndef HAMT_ALLOC_HAMT_HAMT_H_
#define HAMT_ALLOC_HAMT_HAMT_H_

#include <functional>
#include <utility>

#include "absl/hash/hash.h"
#include "allocators/malloc_policy.h"
#include "hamt/internal/champ.h"
#include "hamt/node_sizing.h"

namespace hamt {

template <class K, class V, class Hash = absl::Hash<K>, class Eq = std::equal_to<K>,
          class Alloc = allocators::MallocPolicy, NodeSizing Sizing = ExactNodes>
class Map : public internal::Champ<K, V, Hash, Eq, Alloc, Sizing> {
  using Base = internal::Champ<K, V, Hash, Eq, Alloc, Sizing>;

 public:
  Map() : Base(Hash(), Eq(), Alloc()) {}
  explicit Map(Alloc alloc) : Base(Hash(), Eq(), std::move(alloc)) {}
  Map(Hash hash, Eq eq, Alloc alloc) : Base(std::move(hash), std::move(eq), std::move(alloc)) {}
};

}  // namespace hamt

#endif  // HAMT_ALLOC_HAMT_HAMT_H_
