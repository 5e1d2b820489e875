// experiments/common/child_process.h: running part of an experiment in a forked child process.
//
// Experiments fork for three reasons: a benchmark binary per process malloc (exec), a contender that
// leaks (libhamt), a replay whose peak RSS must be its own. All go through RunInChild, so that
// every child dies with its parent (PR_SET_PDEATHSIG: kill -9 of the driver included), and Ctrl-C
// delivered to the parent alone still reaches the child (passed on once as SIGINT).
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_CHILD_PROCESS_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_CHILD_PROCESS_H_

#include <functional>
#include <string>
#include <vector>

namespace experiments {

struct ChildExit {
  int status = 0;       // the child's exit status, or 128 + the signal that killed it
  std::string message;  // everything the child wrote to its message pipe
};

// Forks. The child runs `body(message_fd)` and exits with status 0, writing the string body
// returns to the pipe `message_fd` (close-on-exec: a body that execs may first dup2 it onto its
// stdout to send the program's output instead). An exception escaping body is printed to stderr
// and ends the child with status 1. The child calls no atexit handlers or static destructors:
// they are the parent's.
//
// The parent reads the whole message, then waits for the child; while waiting it passes SIGINT on
// to the child once InterruptRequested() (experiments/common/interrupt.h), and calls `heartbeat`
// (when given) with the seconds elapsed, every `heartbeat_seconds`. Throws std::runtime_error when
// it cannot fork.
ChildExit RunInChild(const std::function<std::string(int message_fd)>& body,
                     const std::function<void(double seconds)>& heartbeat = nullptr,
                     double heartbeat_seconds = 15);

// Runs `executable` with `arguments` (argv[1...]) in a child through RunInChild; the program's
// stdout is the message. The way an experiment runs one cell in a fresh process: it executes
// itself (/proc/self/exe) with a flag naming the cell, and the cell's report comes back here.
ChildExit RunProgramInChild(const std::string& executable,
                            const std::vector<std::string>& arguments,
                            const std::function<void(double seconds)>& heartbeat = nullptr);

// "exit status 3", or "killed by SIGSEGV (Segmentation fault)" for a ChildExit::status.
std::string DescribeStatus(int status);

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_CHILD_PROCESS_H_
