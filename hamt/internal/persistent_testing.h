// hamt/internal/persistent_testing.h: checks of hamt::PersistentMap's structural sharing, for the
// tests and the fuzzer (testonly): what no user of the map needs, kept out of its public header.
#ifndef HAMT_ALLOC_HAMT_INTERNAL_PERSISTENT_TESTING_H_
#define HAMT_ALLOC_HAMT_INTERNAL_PERSISTENT_TESTING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "hamt/internal/node.h"
#include "hamt/persistent_map.h"

namespace hamt::internal {

// What the versions given to CheckSharing hold between them, each node counted once.
struct SharedTotals {
  std::size_t node_bytes = 0;  // a counted policy's live_bytes must equal this (no leak)
  std::size_t entries = 0;     // the keys and values alive (each constructed once)
};

// A friend of hamt::PersistentMap: reads the roots and the lineage of versions.
struct PersistentTesting {
  // Verifies the sharing across `versions`, which must be every live PersistentMap of one
  // lineage (moved-from ones included): each node's count equals the number of references to it
  // (version roots plus parents among the nodes reachable from the versions), and the lineage
  // counts one reference per version. Fills *totals (may be null). O(nodes) with a hash set.
  template <class Map>
  static std::string CheckSharing(const std::vector<const Map*>& versions, SharedTotals* totals) {
    using NodeT = typename Map::NodeT;
    using Layout = typename Map::Layout;
    if (versions.empty()) return "";
    const auto* lineage = versions.front()->lineage_;
    std::unordered_map<const NodeT*, std::uint32_t> references;
    std::unordered_set<const NodeT*> visited;
    SharedTotals found;
    struct Frame {
      const NodeT* node;
      unsigned shift;
    };
    std::vector<Frame> stack;
    for (const Map* version : versions) {
      if (version->lineage_ != lineage) return "versions of different lineages";
      if (version->root_ == nullptr) continue;
      ++references[version->root_];
      stack.push_back({version->root_, 0});
    }
    while (!stack.empty()) {
      const auto [node, shift] = stack.back();
      stack.pop_back();
      if (!visited.insert(node).second) continue;
      if (IsCollisionLevel(shift)) {
        found.node_bytes += Layout::Bytes(0, node->datamap);
        found.entries += node->datamap;
        continue;
      }
      const unsigned children = Count(node->nodemap);
      found.node_bytes += Layout::Bytes(children, Count(node->datamap));
      found.entries += Count(node->datamap);
      for (unsigned i = 0; i < children; ++i) {
        const NodeT* child = Layout::Children(node)[i];
        ++references[child];
        stack.push_back({child, shift + kBitsPerLevel});
      }
    }
    for (const auto& [node, expected] : references) {
      if (node->refs.count() != expected) {
        return "a node counts " + std::to_string(node->refs.count()) + " references, " +
               std::to_string(expected) + " exist";
      }
    }
    if (lineage->refs.count() != versions.size()) {
      return "the lineage counts " + std::to_string(lineage->refs.count()) + " versions, " +
             std::to_string(versions.size()) + " were given";
    }
    if (totals != nullptr) *totals = found;
    return "";
  }
};

template <class Map>
std::string CheckSharing(const std::vector<const Map*>& versions, SharedTotals* totals) {
  return PersistentTesting::CheckSharing(versions, totals);
}

}  // namespace hamt::internal

#endif  // HAMT_ALLOC_HAMT_INTERNAL_PERSISTENT_TESTING_H_
