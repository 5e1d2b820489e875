// allocators/mimalloc_heap_policy.h: a first-class mimalloc heap (mi_heap_new) per backend, the
// mimalloc analogue of an arena: mi_heap_malloc to allocate, mi_free to free, and the whole heap
// released in one step when the backend is destroyed.
//
// Invariant: every block of this backend lives in heap_ (owns() asks mimalloc) until deallocate()
// or the backend's destruction. Like the slot pools' blocks, blocks do not outlive the backend by
// default: the destructor calls mi_heap_destroy, which frees every block still in the heap at once
// (no per-block work), so a map that is dropped without freeing its nodes leaks nothing.
// HeapRelease::kMigrateLiveBlocks uses mi_heap_delete instead: blocks still live move to the
// thread's default heap and stay valid (to be mi_free'd later by someone else); with nothing live
// both are the same.
// Threading: a mimalloc heap belongs to the thread that created it; allocate only from that thread
// (mi_free may run on any).
// Cost: one indirect call each way, plus Counted's counters; the destructor is O(pages).
#ifndef HAMT_ALLOC_ALLOCATORS_MIMALLOC_HEAP_POLICY_H_
#define HAMT_ALLOC_ALLOCATORS_MIMALLOC_HEAP_POLICY_H_

#include <cstddef>
#include <new>
#include <utility>

#include "allocators/counted.h"
#include "allocators/private_library.h"

namespace allocators {

enum class HeapRelease {
  kDestroyLiveBlocks,  // mi_heap_destroy: blocks die with the backend (default)
  kMigrateLiveBlocks,  // mi_heap_delete: live blocks move to the default heap
};

class MimallocHeapBackend {
 public:
  // Throws LibraryLoadError when libmimalloc.so.2 cannot be loaded, std::bad_alloc when
  // mi_heap_new fails.
  explicit MimallocHeapBackend(HeapRelease release = HeapRelease::kDestroyLiveBlocks)
      : api_(&Mimalloc()), heap_(api_->mi_heap_new()), release_(release) {
    if (heap_ == nullptr) throw std::bad_alloc();
  }
  ~MimallocHeapBackend() { release(); }

  MimallocHeapBackend(MimallocHeapBackend&& other) noexcept
      : api_(other.api_), heap_(std::exchange(other.heap_, nullptr)), release_(other.release_) {}
  MimallocHeapBackend& operator=(MimallocHeapBackend&& other) noexcept {
    if (this != &other) {
      release();
      api_ = other.api_;
      heap_ = std::exchange(other.heap_, nullptr);
      release_ = other.release_;
    }
    return *this;
  }
  MimallocHeapBackend(const MimallocHeapBackend&) = delete;
  MimallocHeapBackend& operator=(const MimallocHeapBackend&) = delete;

  void* allocate(std::size_t bytes) noexcept { return api_->mi_heap_malloc(heap_, bytes); }
  void deallocate(void* p, std::size_t) noexcept { api_->mi_free(p); }

  // Is p a block of this heap? (mi_heap_contains_block: a page lookup, not for the hot path.)
  bool owns(const void* p) const { return heap_ != nullptr && api_->mi_heap_contains_block(heap_, p); }
  const MimallocApi& api() const { return *api_; }

 private:
  void release() noexcept {
    if (heap_ == nullptr) return;
    if (release_ == HeapRelease::kDestroyLiveBlocks) {
      api_->mi_heap_destroy(heap_);
    } else {
      api_->mi_heap_delete(heap_);
    }
    heap_ = nullptr;
  }

  const MimallocApi* api_;
  MiHeap* heap_;
  HeapRelease release_;
};

using MimallocHeapPolicy = Counted<MimallocHeapBackend>;

static_assert(OwningAllocatorPolicy<MimallocHeapPolicy>);

}  // namespace allocators

#endif  // HAMT_ALLOC_ALLOCATORS_MIMALLOC_HEAP_POLICY_H_
