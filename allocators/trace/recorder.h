// allocators/trace/recorder.h: Recorder, the in-memory sink that Recorded<P> (allocators/recorded.h)
// appends to: it names each block by a dense id (event.h) and stamps every event with the caller's
// logical clock and the recorder's thread index.
//
//   allocators::trace::Recorder recorder;
//   hamt::Map<K, V, H, E, allocators::Recorded<P>> map(allocators::Recorded<P>(P(), recorder));
//   for (i ...) { recorder.set_clock(i); map.insert_or_assign(...); }
//   trace.events = recorder.take_events();
//
// Invariants: ids_ maps every live block to its id; free_ids_ holds every dead id below next_id_
// (most recently freed last, so it is reused first); events_ always has room for one free of every
// live block, so that on_deallocate (called from a noexcept deallocate) never allocates.
// Cost: one hash-map insert or erase and one append per event, all in the process's malloc, never
// in the recorded policy (whose behaviour recording does not change; the process heap's does).
// Threading: one recorder per thread; record several threads with several recorders (thread
// indices 0, 1, ...) and merge their events (not done yet: every recording is single-threaded).
#ifndef HAMT_ALLOC_ALLOCATORS_TRACE_RECORDER_H_
#define HAMT_ALLOC_ALLOCATORS_TRACE_RECORDER_H_

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "allocators/assert.h"
#include "allocators/trace/event.h"

namespace allocators::trace {

class Recorder {
 public:
  explicit Recorder(std::uint32_t thread = 0) : thread_(thread) {
    if (thread > kMaxThread) throw std::invalid_argument("trace thread index above 32767");
  }
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // The index of the operation now running: every event until the next call carries it.
  void set_clock(std::uint64_t clock) {
    HAMT_ASSERT(clock <= kMaxClock);
    clock_ = clock;
  }
  std::uint64_t clock() const { return clock_; }

  // Throws std::length_error for a request a trace cannot hold: call before allocating.
  static void CheckRecordable(std::size_t bytes) {
    if (bytes > kMaxEventBytes) {
      throw std::length_error("an allocation of " + std::to_string(bytes) +
                              " bytes does not fit a trace event (at most 4 GiB - 1)");
    }
  }

  // p was just allocated with `bytes` (CheckRecordable passed). Throws std::bad_alloc when the
  // recorder's own memory runs out; nothing is recorded then.
  void on_allocate(const void* p, std::size_t bytes) {
    std::uint32_t id;
    if (!free_ids_.empty()) {
      id = free_ids_.back();
    } else {
      if (next_id_ == UINT32_MAX) throw std::length_error("more than 2^32 - 1 live trace blocks");
      id = next_id_;
      // Room to push every id ever handed out, so that on_deallocate never allocates.
      if (free_ids_.capacity() < std::size_t{next_id_} + 1) free_ids_.reserve(2 * (next_id_ + 1));
    }
    // Room for this event and one free per live block (this one included).
    const std::size_t needed = events_.size() + ids_.size() + 2;
    if (events_.capacity() < needed) events_.reserve(2 * needed);
    const bool fresh = ids_.emplace(p, id).second;
    HAMT_ASSERT(fresh);
    (void)fresh;
    if (free_ids_.empty()) {
      ++next_id_;
    } else {
      free_ids_.pop_back();
    }
    events_.push_back(
        Event::Make(Op::kAllocate, id, static_cast<std::uint32_t>(bytes), clock_, thread_));
  }

  // p, allocated while recording, is being freed with `bytes`. Never allocates.
  void on_deallocate(const void* p, std::size_t bytes) noexcept {
    const auto it = ids_.find(p);
    HAMT_ASSERT(it != ids_.end());
    if (it == ids_.end()) return;  // a block from before the recording: not in the trace
    const std::uint32_t id = it->second;
    ids_.erase(it);
    free_ids_.push_back(id);
    events_.push_back(Event::Make(Op::kFree, id, static_cast<std::uint32_t>(bytes), clock_, thread_));
  }

  const std::vector<Event>& events() const { return events_; }
  // The events so far; the recorder keeps naming the blocks still live (and keeps room for their
  // frees).
  std::vector<Event> take_events() {
    std::vector<Event> fresh;
    fresh.reserve(ids_.size() + 1);
    return std::exchange(events_, std::move(fresh));
  }
  std::size_t live_blocks() const { return ids_.size(); }

 private:
  std::uint32_t thread_;
  std::uint64_t clock_ = 0;
  std::uint32_t next_id_ = 0;
  absl::flat_hash_map<const void*, std::uint32_t> ids_;
  std::vector<std::uint32_t> free_ids_;
  std::vector<Event> events_;
};

}  // namespace allocators::trace

#endif  // HAMT_ALLOC_ALLOCATORS_TRACE_RECORDER_H_
