// experiments/common/run_store.h: where a run's result files live, so that no run loses, mixes or
// half-writes another's results.
//
// Under an output directory D, for one result set `stem` (pool_exhaustion, pool_exhaustion_sweep,
// allocator_matrix):
//
//   D/.lock                   flock()ed by the one process working in D; holds its pid and command
//   D/<stem>.runs/<run_id>/   each run's own directory: the run writes and rewrites its files there
//                             (each atomically: temporary name, fsync, rename) as it goes;
//                             `.complete` marks a finished run
//   D/<stem>.current          symlink to the last complete run's directory, replaced by one rename
//                             when a run completes; a reader that resolves it once reads one run's
//                             files, never a mix of two
//   D/<file>                  symlink to <stem>.current/<file> for every file of the set: stable
//                             names for one file. A reader of several files of a set resolves
//                             <stem>.current once and reads them from that directory (analysis/
//                             does): two opens through D/<file> may straddle a publish.
//
// A run that fails (disk full, crash, Ctrl-C, kill -9) never touches <stem>.current: the last good
// result set stays published, and the failed run's directory is what --resume continues. Publishing
// keeps the new run and the one it replaced and removes the other runs of the set (an interrupted
// run is kept until a run completes). Only directories named like run ids are runs.
//
// The lock is released by the kernel when the process dies, however it dies, so a stale lock never
// blocks the next run; temporary files left by a dead writer are removed by the next Open().
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_RUN_STORE_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_RUN_STORE_H_

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace experiments {

class RunStore {
 public:
  using Note = std::function<void(const std::string&)>;

  // Creates D if needed and takes its lock. Busy: with `wait`, waits (calling note once); else
  // throws OutputError "… is in use by pid N (command), since …; … --wait_for_lock". Removes
  // temporary files left by dead processes. Throws OutputError when D cannot be created or written.
  static RunStore Open(const std::filesystem::path& dir, std::string stem, bool wait,
                       const Note& note);

  RunStore(RunStore&& other) noexcept;
  RunStore& operator=(RunStore&&) = delete;
  ~RunStore();  // releases the lock

  const std::filesystem::path& dir() const { return dir_; }
  // The run being written (empty before StartNew/Continue).
  const std::filesystem::path& run_dir() const { return run_dir_; }

  // The newest incomplete run of this stem (never the published one), if any.
  std::optional<std::filesystem::path> LatestIncomplete() const;
  // The published (last complete) run's directory, if any.
  std::optional<std::filesystem::path> Published() const;

  // Starts a new run in <stem>.runs/<run_id>/. An interrupted run that --resume could have
  // continued is noted; it stays until this run is published.
  void StartNew(const std::string& run_id, const Note& note);
  // Continues an incomplete run found by LatestIncomplete().
  void Continue(const std::filesystem::path& run_dir);

  // Writes one file of the current run atomically. Throws OutputError (disk full, ...); the
  // previous version of the file, and everything published, stay as they were.
  void Write(const std::string& name, absl::string_view contents) const;

  // Marks the run complete and publishes it (see above). Throws OutputError.
  void Publish();

  // A fresh run id: UTC time and pid, e.g. 20261129T180211Z-4242.
  static std::string NewRunId();

 private:
  RunStore(std::filesystem::path dir, std::string stem, int lock_fd);
  std::filesystem::path runs_dir() const;
  std::filesystem::path current_link() const;
  void RemoveStaleTemporaries() const;

  std::filesystem::path dir_;
  std::string stem_;
  int lock_fd_ = -1;
  std::filesystem::path run_dir_;
};

// Reads a whole file; throws OutputError naming it.
std::string ReadWholeFile(const std::filesystem::path& path);

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_RUN_STORE_H_
