#include "experiments/common/interrupt.h"

#include <csignal>

namespace experiments {
namespace {

std::atomic<int> received{0};

extern "C" void OnSignal(int signal) {
  received.store(signal, std::memory_order_relaxed);
  std::signal(signal, SIG_DFL);  // the second one ends the process
}

}  // namespace

void InstallInterruptHandler() {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
}

bool InterruptRequested() { return received.load(std::memory_order_relaxed) != 0; }

}  // namespace experiments
