#include "experiments/common/child_process.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "experiments/common/interrupt.h"
#include "gtest/gtest.h"

namespace experiments {
namespace {

TEST(RunInChild, ReturnsTheBodysMessageAndStatusZero) {
  const ChildExit child = RunInChild([](int) { return std::string("hello\0world", 11); });
  EXPECT_EQ(child.status, 0);
  EXPECT_EQ(child.message, std::string("hello\0world", 11));
}

TEST(RunInChild, CarriesAMessageLargerThanAPipe) {
  const std::string big(1 << 20, 'x');
  const ChildExit child = RunInChild([&](int) { return big; });
  EXPECT_EQ(child.status, 0);
  EXPECT_EQ(child.message, big);
}

TEST(RunInChild, ReportsTheChildsExitStatus) {
  const ChildExit child = RunInChild([](int) -> std::string { ::_exit(7); });
  EXPECT_EQ(child.status, 7);
  EXPECT_EQ(child.message, "");
  EXPECT_EQ(DescribeStatus(child.status), "exit status 7");
}

TEST(RunInChild, AnExceptionInTheBodyIsStatusOne) {
  const ChildExit child = RunInChild([](int) -> std::string { throw std::runtime_error("no"); });
  EXPECT_EQ(child.status, 1);
}

TEST(RunInChild, ASignalIs128PlusItsNumber) {
  const ChildExit child = RunInChild([](int) -> std::string {
    std::raise(SIGKILL);  // not SIGSEGV: AddressSanitizer would catch that one
    return "not reached";
  });
  EXPECT_EQ(child.status, 128 + SIGKILL);
  EXPECT_EQ(DescribeStatus(child.status), "killed by SIGKILL (Killed)");
}

TEST(RunInChild, AnExecdProgramsStdoutIsTheMessage) {
  const ChildExit child = RunInChild([](int fd) -> std::string {
    ::dup2(fd, STDOUT_FILENO);
    ::execl("/bin/sh", "sh", "-c", "printf 'from sh'; exit 4", static_cast<char*>(nullptr));
    ::_exit(99);
  });
  EXPECT_EQ(child.status, 4);
  EXPECT_EQ(child.message, "from sh");
}

TEST(RunProgramInChild, PassesTheArgumentsAndReturnsTheProgramsStdout) {
  const ChildExit child =
      RunProgramInChild("/bin/sh", {"-c", "printf '%s|%s' \"$0\" \"$1\"; exit 3", "a b", "c"});
  EXPECT_EQ(child.status, 3);
  EXPECT_EQ(child.message, "a b|c");
}

TEST(RunProgramInChild, AProgramThatCannotRunIsStatusOne) {
  EXPECT_EQ(RunProgramInChild("/nonexistent/program", {}).status, 1);
}

// Ctrl-C that reaches the parent alone is passed on: the child, which would otherwise wait
// forever, dies of SIGINT. In a death test's process, so the interrupt flag stays there.
TEST(RunInChildDeathTest, PassesCtrlCOnToTheChild) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        InstallInterruptHandler();
        int ready[2];
        if (::pipe(ready) != 0) std::exit(10);
        bool raised = false;
        // The parent raises SIGINT only once the child has restored SIGINT's default action and
        // said so, so no timing is involved.
        const ChildExit child = RunInChild(
            [&](int) -> std::string {
              std::signal(SIGINT, SIG_DFL);
              if (::write(ready[1], "r", 1) != 1) ::_exit(11);
              for (;;) ::pause();
            },
            [&](double) {
              pollfd p{ready[0], POLLIN, 0};
              if (!raised && ::poll(&p, 1, 0) == 1) {
                std::raise(SIGINT);
                raised = true;
              }
            },
            0);
        std::exit(child.status == 128 + SIGINT && InterruptRequested() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(DescribeStatus, NamesTheSignal) {
  EXPECT_EQ(DescribeStatus(128 + SIGSEGV), "killed by SIGSEGV (Segmentation fault)");
  EXPECT_EQ(DescribeStatus(0), "exit status 0");
}

}  // namespace
}  // namespace experiments
