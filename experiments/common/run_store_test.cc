#include "experiments/common/run_store.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "experiments/common/output.h"
#include "gtest/gtest.h"

namespace experiments {
namespace {

namespace fs = std::filesystem;

fs::path TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  fs::path dir = fs::path(base ? base : "/tmp") / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void Quiet(const std::string&) {}

TEST(RunStoreTest, PublishesACompleteRunUnderStableNames) {
  const fs::path dir = TempDir("publish");
  RunStore store = RunStore::Open(dir, "study", false, Quiet);
  store.StartNew("20260101T000000Z-1", Quiet);
  store.Write("study.csv", "a\n");
  store.Write("study.json", "{}\n");
  EXPECT_FALSE(fs::exists(dir / "study.csv")) << "published before it was complete";
  store.Publish();
  EXPECT_EQ(ReadWholeFile(dir / "study.csv"), "a\n");
  EXPECT_EQ(ReadWholeFile(dir / "study.json"), "{}\n");
  EXPECT_TRUE(fs::is_symlink(dir / "study.current"));
}

TEST(RunStoreTest, AFailedRunLeavesTheLastGoodResult) {
  const fs::path dir = TempDir("failed");
  {
    RunStore store = RunStore::Open(dir, "study", false, Quiet);
    store.StartNew("20260101T000000Z-1", Quiet);
    store.Write("study.csv", "good\n");
    store.Publish();
  }
  RunStore store = RunStore::Open(dir, "study", false, Quiet);
  store.StartNew("20260101T000001Z-2", Quiet);
  store.Write("study.csv", "partial\n");
  // No Publish(): the run died.
  EXPECT_EQ(ReadWholeFile(dir / "study.csv"), "good\n");
  ASSERT_TRUE(store.LatestIncomplete().has_value());
  EXPECT_EQ(store.LatestIncomplete()->filename(), "20260101T000001Z-2");
}

TEST(RunStoreTest, KeepsTheCurrentAndThePreviousRunOnly) {
  const fs::path dir = TempDir("prune");
  for (int i = 0; i < 4; ++i) {
    RunStore store = RunStore::Open(dir, "study", false, Quiet);
    store.StartNew("2026010" + std::to_string(i) + "T000000Z-1", Quiet);
    store.Write("study.csv", std::to_string(i) + "\n");
    store.Publish();
  }
  int runs = 0;
  for (const auto& entry : fs::directory_iterator(dir / "study.runs")) runs += entry.is_directory();
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(ReadWholeFile(dir / "study.csv"), "3\n");
}

TEST(RunStoreTest, RemovesTemporariesOfDeadWriters) {
  const fs::path dir = TempDir("stale");
  {
    RunStore store = RunStore::Open(dir, "study", false, Quiet);
    store.StartNew("20260101T000000Z-1", Quiet);
  }
  const fs::path stale = dir / "study.runs" / "20260101T000000Z-1" / "study.csv.tmp.99999";
  { std::ofstream(stale) << "half"; }
  RunStore store = RunStore::Open(dir, "study", false, Quiet);
  EXPECT_FALSE(fs::exists(stale));
}

TEST(RunStoreTest, TouchesOnlyItsOwnFiles) {
  const fs::path dir = TempDir("foreign");
  { std::ofstream(dir / "thesis.tmp.tex") << "mine"; }
  { std::ofstream(dir / "notes.tmp.12") << "mine too"; }  // not a link of the store
  fs::create_directories(dir / "study.runs" / "my-own-folder");
  {
    RunStore store = RunStore::Open(dir, "study", false, Quiet);
    store.StartNew("20260101T000000Z-1", Quiet);
    store.Write("study.csv", "a\n");
    store.Publish();
  }
  {
    RunStore store = RunStore::Open(dir, "study", false, Quiet);
    store.StartNew("20260101T000001Z-1", Quiet);
    store.Publish();
  }
  EXPECT_TRUE(fs::exists(dir / "thesis.tmp.tex"));
  EXPECT_TRUE(fs::exists(dir / "notes.tmp.12"));
  EXPECT_TRUE(fs::exists(dir / "study.runs" / "my-own-folder"));
  // A symlink planted at .lock is not followed (its target would be truncated).
  const fs::path other = TempDir("foreign_lock");
  { std::ofstream(other / "victim.txt") << "precious"; }
  fs::create_symlink(other / "victim.txt", other / ".lock");
  EXPECT_THROW(RunStore::Open(other, "study", false, Quiet), OutputError);
  EXPECT_EQ(ReadWholeFile(other / "victim.txt"), "precious");
}

TEST(RunStoreTest, APublishedRunIsNeverTakenForAnInterruptedOne) {
  const fs::path dir = TempDir("published_not_incomplete");
  RunStore store = RunStore::Open(dir, "study", false, Quiet);
  store.StartNew("20260101T000000Z-1", Quiet);
  store.Write("study.csv", "a\n");
  store.Publish();
  fs::remove(dir / "study.runs" / "20260101T000000Z-1" / ".complete");  // lost marker
  EXPECT_FALSE(store.LatestIncomplete().has_value());
}

TEST(RunStoreTest, ASecondWriterIsRefusedNamingTheHolder) {
  const fs::path dir = TempDir("locked");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    RunStore store = RunStore::Open(dir, "study", false, Quiet);
    char byte = 1;
    (void)!::write(ready[1], &byte, 1);
    ::sleep(30);  // killed by the parent
    ::_exit(0);
  }
  char byte;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  try {
    RunStore::Open(dir, "study", false, Quiet);
    ADD_FAILURE() << "two runs hold the same output directory";
  } catch (const OutputError& error) {
    EXPECT_NE(std::string(error.what()).find("in use by pid " + std::to_string(child)),
              std::string::npos)
        << error.what();
  }
  ::kill(child, SIGKILL);  // kill -9: the kernel releases the lock
  ::waitpid(child, nullptr, 0);
  EXPECT_NO_THROW(RunStore::Open(dir, "study", false, Quiet));
}

}  // namespace
}  // namespace experiments
