// experiments/common/interrupt.h: Ctrl-C for long measurements, honoured within a second.
//
// InstallInterruptHandler() makes the first SIGINT (or SIGTERM) set a flag and the second one kill
// the process the default way. Long loops call ThrowIfInterrupted() at least every few hundred
// milliseconds of work (at chunk boundaries, never inside a timed inner loop), which throws
// Interrupted; the experiment then keeps what it has measured and exits with status 130.
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_INTERRUPT_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_INTERRUPT_H_

#include <atomic>
#include <stdexcept>

namespace experiments {

class Interrupted : public std::runtime_error {
 public:
  Interrupted() : std::runtime_error("interrupted") {}
};

void InstallInterruptHandler();

// True once SIGINT or SIGTERM arrived.
bool InterruptRequested();

inline void ThrowIfInterrupted() {
  if (InterruptRequested()) [[unlikely]] throw Interrupted();
}

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_INTERRUPT_H_
