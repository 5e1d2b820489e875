// experiments/common/output.h: result directories and crash-safe file writes.
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_OUTPUT_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_OUTPUT_H_

#include <filesystem>
#include <stdexcept>
#include <string>

#include <vector>

#include "absl/strings/string_view.h"

namespace experiments {

class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The workspace root when run with `bazel run` (BUILD_WORKSPACE_DIRECTORY), else the current
// directory. Relative --out paths are resolved against it, so results land in the checkout rather
// than in Bazel's runfiles tree.
std::filesystem::path WorkspaceDirectory();

// Resolves `dir` (relative to WorkspaceDirectory()), creates it, and proves it is writable by
// creating and removing a probe file. Throws OutputError with a one-line reason otherwise.
std::filesystem::path PrepareOutputDirectory(absl::string_view dir);

// Writes `contents` to a temporary file next to `path`, flushes it to disk and renames it over
// `path`: a reader (or a crash) sees the old file or the new one, never half of one.
void WriteFileAtomically(const std::filesystem::path& path, absl::string_view contents);

// CSV helpers: fields are quoted only when they contain a comma, quote or newline.
std::string CsvField(absl::string_view field);
std::string CsvLine(const std::vector<std::string>& fields);
// Splits one CSV line (the inverse of CsvLine).
std::vector<std::string> SplitCsvLine(absl::string_view line);

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_OUTPUT_H_
