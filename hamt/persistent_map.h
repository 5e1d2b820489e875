// hamt/persistent_map.h: hamt::PersistentMap, an immutable hash map whose versions share
// structure: every update returns a new version that shares all untouched nodes with the old one,
// and every node comes from, and returns to, one allocator policy (allocators/policy.h) per map
// lineage.
//
//   hamt::PersistentMap<std::int64_t, std::int64_t> v0;
//   auto v1 = v0.set(7, 49);              // v0 is still empty
//   auto v2 = v1.set(8, 64).erase(7);     // v1 still maps 7 -> 49
//   if (const std::int64_t* v = v1.find(7)) ...
//   for (const auto& [key, value] : v2) ...
//   v2 = std::move(v2).set(9, 81);        // v2 was the only holder: updated in place
//   v2.allocator().stats().live_bytes     // the lineage's one policy
//
// Versions are values. Copying one is O(1) (two reference counts); every version stays valid and
// unchanged whatever is done to the others; dropping the last version that refers to a node
// returns its block to the policy. Unordered, unique keys; find() pointers and iterators stay
// valid as long as the version they came from. K and V need alignment <= 8, nothrow move
// constructors and copy constructors (a node shared with another version is copied).
//
// The trie is hamt::Map's (hamt/internal/): the same CHAMP node layout with a reference count in
// the header (16 bytes instead of 8, node.h), the same find, iteration and invariant check
// (trie.h); updates copy the path from the root (persistent_champ.h).
//
// In place or copied. `m.set(k, v)` and `m.erase(k)` on an lvalue never change m: they copy the
// d + 1 nodes on k's path (d: the depth, about log32 n) and give every child those copies keep one
// more reference. `std::move(m).set(k, v)` (and erase) hands m's root to the update: every node on
// k's path that no other version can reach (count 1 from the root down) is updated in place, as
// hamt::Map would: a new value for a present key allocates nothing, an insert or erase allocates
// only the node whose entries change (nodes are exactly sized); nodes shared with another version
// are copied, with everything below them on the path. m is left empty (of the same lineage). So
// a chain `m = std::move(m).set(...)` on a version nobody else holds allocates what hamt::Map's
// insert_or_assign and erase do.
//
// Policies. A lineage is the set of versions made from one constructed map; they share one
// policy instance, held with a count in a small control block allocated with operator new when
// the map is constructed (the policy cannot hold itself). allocator() reaches it from any
// version; it is destroyed with the lineage's last version, after the last node.
//
// Threading: with the default hamt::UnsyncRefcount, one thread at a time per lineage. With
// hamt::AtomicRefcount (hamt/refcount.h), versions may be used on several threads at once if the
// policy itself is thread-safe.
//
// Exception safety: an update that throws (the policy's allocate(), or a copy constructor) leaves
// every version unchanged.
#ifndef HAMT_ALLOC_HAMT_PERSISTENT_MAP_H_
#define HAMT_ALLOC_HAMT_PERSISTENT_MAP_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "absl/hash/hash.h"
#include "allocators/malloc_policy.h"
#include "allocators/policy.h"
#include "hamt/internal/node.h"
#include "hamt/internal/persistent_champ.h"
#include "hamt/internal/trie.h"
#include "hamt/refcount.h"

namespace hamt {

namespace internal {
struct PersistentTesting;
}  // namespace internal

template <class K, class V, class Hash = absl::Hash<K>, class Eq = std::equal_to<K>,
          allocators::AllocatorPolicy Alloc = allocators::MallocPolicy,
          RefcountPolicy Refcount = UnsyncRefcount>
class PersistentMap {
  friend struct internal::PersistentTesting;  // the tests' sharing check (persistent_testing.h)

  using Core = internal::PersistentChamp<K, V, Hash, Eq, Alloc, Refcount>;
  using NodeT = typename Core::NodeT;
  using Layout = typename Core::Layout;
  using Lineage = internal::Lineage<Alloc, Refcount>;

 public:
  using key_type = K;
  using mapped_type = V;
  using value_type = internal::Entry<K, V>;
  using size_type = std::size_t;
  using hasher = Hash;
  using key_equal = Eq;
  using allocator_type = Alloc;
  using const_iterator = internal::TrieIterator<Layout>;
  using iterator = const_iterator;

  // Bytes allocated for a node with the given numbers of children and entries (collision nodes:
  // 0 children).
  static constexpr std::size_t NodeBytes(std::size_t children, std::size_t entries) {
    return Layout::Bytes(children, entries);
  }

  // An empty map, the first version of a new lineage.
  PersistentMap() : PersistentMap(Hash(), Eq(), Alloc()) {}
  explicit PersistentMap(Alloc alloc) : PersistentMap(Hash(), Eq(), std::move(alloc)) {}
  PersistentMap(Hash hash, Eq eq, Alloc alloc)
      : lineage_(new Lineage(std::move(alloc))), hash_(std::move(hash)), eq_(std::move(eq)) {}

  // O(1): the same root, one more reference to it and to the lineage.
  PersistentMap(const PersistentMap& other) noexcept
      : root_(other.root_),
        size_(other.size_),
        lineage_(other.lineage_),
        hash_(other.hash_),
        eq_(other.eq_) {
    if (root_ != nullptr) root_->refs.increment();
    lineage_->refs.increment();
  }
  // Takes the nodes; `other` is left empty, still of its lineage (so still usable).
  PersistentMap(PersistentMap&& other) noexcept
      : root_(std::exchange(other.root_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        lineage_(other.lineage_),
        hash_(other.hash_),
        eq_(other.eq_) {
    lineage_->refs.increment();
  }
  PersistentMap& operator=(const PersistentMap& other) noexcept {
    PersistentMap copy(other);
    swap(copy);
    return *this;
  }
  // Drops this version's nodes, takes `other`'s; `other` is left empty, in this map's former
  // lineage.
  PersistentMap& operator=(PersistentMap&& other) noexcept {
    if (this != &other) {
      drop_root();
      root_ = std::exchange(other.root_, nullptr);
      size_ = std::exchange(other.size_, 0);
      std::swap(lineage_, other.lineage_);
      hash_ = other.hash_;
      eq_ = other.eq_;
    }
    return *this;
  }
  ~PersistentMap() {
    drop_root();
    if (lineage_->refs.decrement()) delete lineage_;
  }

  void swap(PersistentMap& other) noexcept {
    using std::swap;
    swap(root_, other.root_);
    swap(size_, other.size_);
    swap(lineage_, other.lineage_);
    swap(hash_, other.hash_);
    swap(eq_, other.eq_);
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The lineage's policy, shared by every version of it: not part of the value, so reachable
  // from a const version.
  Alloc& allocator() const { return lineage_->alloc; }

  // The value's address, valid as long as this version.
  const V* find(const K& key) const {
    if (root_ == nullptr) [[unlikely]] return nullptr;
    return internal::FindValue<Layout>(root_, hash_of(key), key, eq_);
  }
  bool contains(const K& key) const { return find(key) != nullptr; }

  // This map with key -> value (inserted, or assigned over the present value). The lvalue
  // overloads leave *this unchanged; the rvalue ones update in place what only *this refers to
  // and leave *this empty (see the top of this file).
  template <class M>
  [[nodiscard]] PersistentMap set(const K& key, M&& value) const& {
    return Set(*this, nullptr, key, std::forward<M>(value));
  }
  template <class M>
  [[nodiscard]] PersistentMap set(K&& key, M&& value) const& {
    return Set(*this, nullptr, std::move(key), std::forward<M>(value));
  }
  template <class M>
  [[nodiscard]] PersistentMap set(const K& key, M&& value) && {
    return Set(*this, this, key, std::forward<M>(value));
  }
  template <class M>
  [[nodiscard]] PersistentMap set(K&& key, M&& value) && {
    return Set(*this, this, std::move(key), std::forward<M>(value));
  }

  // This map without `key` (an O(1) copy when the key is absent). Lvalue and rvalue as for set.
  [[nodiscard]] PersistentMap erase(const K& key) const& { return Erase(*this, nullptr, key); }
  [[nodiscard]] PersistentMap erase(const K& key) && { return Erase(*this, this, key); }

  const_iterator begin() const { return const_iterator(root_); }
  const_iterator end() const { return const_iterator(); }

  // The same key set with equal values (V needs ==). Versions that share their root compare in
  // O(1); otherwise every key of `a` is looked up in `b`.
  friend bool operator==(const PersistentMap& a, const PersistentMap& b) {
    if (a.size_ != b.size_) return false;
    if (a.root_ == b.root_) return true;
    for (const auto& [key, value] : a) {
      const V* other = b.find(key);
      if (other == nullptr || !(*other == value)) return false;
    }
    return true;
  }

  // Verifies this version's trie as hamt::Map::check_invariants() does, plus a reference count
  // of at least 1 in every node. Returns an empty string when sound, else the first violation.
  std::string check_invariants() const {
    return internal::CheckTrie<Layout>(
        root_, size_, [this](const K& key) { return hash_of(key); }, eq_,
        [](const NodeT& node, std::string& error) {
          if (node.refs.count() == 0) error = "node with a reference count of 0";
        });
  }

 private:
  PersistentMap(NodeT* root, std::size_t size, Lineage* lineage, const Hash& hash, const Eq& eq)
      : root_(root), size_(size), lineage_(lineage), hash_(hash), eq_(eq) {
    lineage_->refs.increment();
  }

  std::uint64_t hash_of(const K& key) const { return static_cast<std::uint64_t>(hash_(key)); }
  Core core() const { return Core(lineage_->alloc, hash_, eq_); }

  void drop_root() noexcept {
    if (root_ != nullptr) core().release(root_, 0);
    root_ = nullptr;
    size_ = 0;
  }

  // The version made from `self` by one update. `owner`: null, or &self when self hands its root
  // to the update (the rvalue overloads): self is then left empty, once the update succeeded.
  template <class KeyArg, class M>
  static PersistentMap Set(const PersistentMap& self, PersistentMap* owner, KeyArg&& key,
                           M&& value) {
    bool inserted = false;
    NodeT* root = self.core().set(self.root_, owner != nullptr, std::forward<KeyArg>(key),
                                  std::forward<M>(value), inserted);
    PersistentMap result(root, self.size_ + (inserted ? 1 : 0), self.lineage_, self.hash_,
                         self.eq_);
    if (owner != nullptr) owner->disown_root();
    return result;
  }
  static PersistentMap Erase(const PersistentMap& self, PersistentMap* owner, const K& key) {
    bool erased = false;
    NodeT* root = self.core().erase(self.root_, owner != nullptr, key, erased);
    if (!erased && owner == nullptr) return self;
    PersistentMap result(root, self.size_ - (erased ? 1 : 0), self.lineage_, self.hash_,
                         self.eq_);
    if (owner != nullptr) owner->disown_root();
    return result;
  }
  // After an owned update: the root's reference went to the result.
  void disown_root() noexcept {
    root_ = nullptr;
    size_ = 0;
  }

  NodeT* root_ = nullptr;
  std::size_t size_ = 0;
  Lineage* lineage_;  // never null
  [[no_unique_address]] Hash hash_;
  [[no_unique_address]] Eq eq_;
};

}  // namespace hamt

#endif  // HAMT_ALLOC_HAMT_PERSISTENT_MAP_H_
