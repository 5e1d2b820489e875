// allocators/trace/event.h: one event of an allocation trace: 16 bytes, as stored in a trace file
// (trace_file.h) and in memory (recorder.h).
//
// Layout (little-endian; the struct is the file's bytes, so reading is one memcpy per block):
//
//   offset  bytes  field
//   0       4      id     dense object id: the block's name from its allocation to its free
//   4       4      bytes  the size asked of allocate(); a free repeats it (sized deallocation)
//   8       8      word   bits 0..47 clock, bits 48..62 thread, bit 63 op (0 allocate, 1 free)
//
// Ids are dense and reused: an allocation takes the most recently freed id, or the next unused
// one, so ids stay below the peak number of live blocks and a replay keeps its pointers in a
// table that small (a pointer would be meaningless in another process anyway). An id therefore
// names one block only between its allocation and its free.
//
// The clock is the caller's logical time: the index of the operation (a map insert, erase, ...)
// that caused the event; events of one operation share it. The thread is the recording thread's
// index (0 for single-threaded recordings).
#ifndef HAMT_ALLOC_ALLOCATORS_TRACE_EVENT_H_
#define HAMT_ALLOC_ALLOCATORS_TRACE_EVENT_H_

#include <bit>
#include <cstdint>

namespace allocators::trace {

enum class Op : std::uint8_t { kAllocate = 0, kFree = 1 };

inline constexpr unsigned kClockBits = 48;
inline constexpr unsigned kThreadBits = 15;
inline constexpr std::uint64_t kMaxClock = (std::uint64_t{1} << kClockBits) - 1;
inline constexpr std::uint32_t kMaxThread = (std::uint32_t{1} << kThreadBits) - 1;
// Sizes are 32-bit: a larger request cannot be recorded (Recorder refuses it before allocating).
inline constexpr std::uint64_t kMaxEventBytes = UINT32_MAX;

struct Event {
  std::uint32_t id;
  std::uint32_t bytes;
  std::uint64_t word;

  // clock <= kMaxClock and thread <= kMaxThread (higher bits are cut).
  static constexpr Event Make(Op op, std::uint32_t id, std::uint32_t bytes, std::uint64_t clock,
                              std::uint32_t thread) {
    return {id, bytes,
            (clock & kMaxClock) | (std::uint64_t{thread & kMaxThread} << kClockBits) |
                (std::uint64_t{op == Op::kFree} << 63)};
  }
  constexpr Op op() const { return (word >> 63) != 0 ? Op::kFree : Op::kAllocate; }
  constexpr bool is_free() const { return (word >> 63) != 0; }
  constexpr std::uint64_t clock() const { return word & kMaxClock; }
  constexpr std::uint32_t thread() const {
    return static_cast<std::uint32_t>(word >> kClockBits) & kMaxThread;
  }
  friend constexpr bool operator==(const Event&, const Event&) = default;
};

static_assert(sizeof(Event) == 16 && alignof(Event) == 8, "an event is 16 bytes, as in the file");
// The struct's bytes are the file's bytes; a big-endian host would need byte swaps here.
static_assert(std::endian::native == std::endian::little, "trace files are little-endian");

}  // namespace allocators::trace

#endif  // HAMT_ALLOC_ALLOCATORS_TRACE_EVENT_H_
