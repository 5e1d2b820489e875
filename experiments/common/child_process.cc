#include "experiments/common/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "experiments/common/interrupt.h"

namespace experiments {
namespace {

// How often the parent looks at the interrupt flag and the clock while it waits.
constexpr int kPollMs = 20;

void WriteAll(int fd, const std::string& text) {
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(3);  // the parent is gone: nobody to tell
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

[[noreturn]] void RunBody(const std::function<std::string(int)>& body, int message_fd) {
  int status = 0;
  std::string message;
  try {
    message = body(message_fd);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "child process: %s\n", error.what());
    status = 1;
  } catch (...) {
    std::fprintf(stderr, "child process: unknown exception\n");
    status = 1;
  }
  WriteAll(message_fd, message);
  ::close(message_fd);
  std::fflush(nullptr);
  ::_exit(status);
}

}  // namespace

ChildExit RunInChild(const std::function<std::string(int message_fd)>& body,
                     const std::function<void(double seconds)>& heartbeat,
                     double heartbeat_seconds) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  // Whatever the parent has buffered must not be written twice.
  std::fflush(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(absl::StrCat("fork: ", std::strerror(error)));
  }
  if (pid == 0) {
    // The child dies with the parent, however the parent dies: otherwise it would go on
    // measuring after the parent's lock on its output is gone.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    ::close(fds[0]);
    RunBody(body, fds[1]);
  }
  ::close(fds[1]);

  const auto start = std::chrono::steady_clock::now();
  double last_beat = 0;
  bool forwarded = false;
  // Called whenever the parent has nothing to read: passes Ctrl-C on, beats the heart.
  auto idle = [&] {
    if (InterruptRequested() && !forwarded) {
      ::kill(pid, SIGINT);
      forwarded = true;
    }
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (heartbeat && elapsed - last_beat >= heartbeat_seconds) {
      last_beat = elapsed;
      heartbeat(elapsed);
    }
  };
  ChildExit result;
  char buffer[4096];
  for (;;) {
    pollfd readable{fds[0], POLLIN, 0};
    if (::poll(&readable, 1, kPollMs) <= 0) {  // a timeout, or a signal (EINTR): no data yet
      idle();
      continue;
    }
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.message.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  // The message is complete; a child that exec'd may still be running.
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) {
      throw std::runtime_error(absl::StrCat("waitpid: ", std::strerror(errno)));
    }
    idle();
    ::poll(nullptr, 0, kPollMs);
  }
  if (WIFEXITED(status)) {
    result.status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.status = 128 + WTERMSIG(status);
  } else {
    result.status = 1;
  }
  return result;
}

ChildExit RunProgramInChild(const std::string& executable,
                            const std::vector<std::string>& arguments,
                            const std::function<void(double seconds)>& heartbeat) {
  return RunInChild(
      [&](int message_fd) -> std::string {
        ::dup2(message_fd, STDOUT_FILENO);  // the program's stdout is the message
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(executable.c_str()));
        for (const std::string& argument : arguments) {
          argv.push_back(const_cast<char*>(argument.c_str()));
        }
        argv.push_back(nullptr);
        ::execv(executable.c_str(), argv.data());
        throw std::runtime_error("cannot execute " + executable + ": " + std::strerror(errno));
      },
      heartbeat);
}

std::string DescribeStatus(int status) {
  if (status > 128 && status < 128 + NSIG) {
    const int signal = status - 128;
    const char* abbrev = ::sigabbrev_np(signal);
    return absl::StrCat("killed by SIG", abbrev ? abbrev : std::to_string(signal), " (",
                        ::strsignal(signal), ")");
  }
  return absl::StrCat("exit status ", status);
}

}  // namespace experiments
