// experiments/common/flags.h: Abseil flags with the workbench's error contract.
//
// absl::ParseCommandLine exits with status 1 on a bad flag; every workbench program promises a
// one-line message naming the flag and exit status 2 instead. ParseFlagsOrExit checks each
// argument against the flag registry first (same syntax as Abseil: --name=value, --name value,
// --bool_flag, --nobool_flag, `--` ends flags), answers --help (and Abseil's other help flags)
// itself with this program's flags and exit status 0, refuses --flagfile and --fromenv, and only
// then lets Abseil parse.
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_FLAGS_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_FLAGS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace experiments {

// The exit status for every usage error: a bad flag, a bad value, an unwritable output path.
inline constexpr int kUsageErrorExit = 2;

// A bad flag value found by library code, which reports it rather than exiting: the program's
// main turns it into FlagError(flag(), what()).
class UsageError : public std::invalid_argument {
 public:
  UsageError(std::string flag, const std::string& message)
      : std::invalid_argument(message), flag_(std::move(flag)) {}
  const std::string& flag() const { return flag_; }

 private:
  std::string flag_;
};

// Sets the program name used in error messages (`program`, or argv[0]'s file name when empty) and
// parses the flags; on any error prints "<program>: <message>" to stderr and exits with
// kUsageErrorExit. Positional arguments are refused the same way.
void ParseFlagsOrExit(int argc, char** argv, absl::string_view usage,
                      absl::string_view program = "");

// The same for a program that takes up to `max_arguments` positional arguments (a file to read,
// anywhere among the flags): returns them, in order; one more is refused the same way.
std::vector<std::string> ParseFlagsAndArgumentsOrExit(int argc, char** argv,
                                                      absl::string_view usage,
                                                      std::size_t max_arguments,
                                                      absl::string_view program = "");

// Prints "<program>: --<flag>: <message>" and exits with kUsageErrorExit.
[[noreturn]] void FlagError(absl::string_view flag, absl::string_view message);

// Prints "<program>: <message>" and exits with `status`.
[[noreturn]] void Fail(absl::string_view message, int status);

// Parses a comma-separated list of whole numbers: digits with optional _ or ' separators and an
// optional K or M suffix ("1K,10K,1_000_000,10M"). Values must lie in [min_value, max_value];
// anything else is a FlagError naming `flag`.
std::vector<std::uint64_t> ParseCountList(absl::string_view flag, absl::string_view text,
                                          std::uint64_t min_value, std::uint64_t max_value);

// Parses a comma-separated list of names ("bump_pool,malloc"), each one of `names`; returns their
// indices in `names`, in the order given and each once (a repeat is measured once, with a Note).
// An unknown name or an empty list is a FlagError naming `flag`, `what` each name is ("policy")
// and the known names.
std::vector<std::size_t> ParseNameList(absl::string_view flag, absl::string_view text,
                                       std::span<const absl::string_view> names,
                                       absl::string_view what);

// The same, for a list of values named by `name_of(value)`: returns the chosen values.
template <class T, class NameOf>
std::vector<T> ParseNameList(absl::string_view flag, absl::string_view text,
                             std::span<const T> known, NameOf name_of, absl::string_view what) {
  std::vector<absl::string_view> names;
  for (const T& value : known) names.push_back(name_of(value));
  std::vector<T> chosen;
  for (std::size_t i : ParseNameList(flag, text, names, what)) chosen.push_back(known[i]);
  return chosen;
}

// Runs `body` (a program's main) under the workbench's error contract and returns its status:
// Ctrl-C (experiments::Interrupted) exits 130, an OutputError 1 with "the published results are
// unchanged", std::bad_alloc 1 with "out of memory", any other exception 1 with "error: <what>";
// each as one line "<program>: ..." on stderr. A program with errors of its own to map catches
// them inside `body`.
int GuardedMain(const std::function<int()>& body);

// Prints "<program>: note: <message>" to stderr: something the user should know, not an error.
void Note(absl::string_view message);

// True when the user gave the flag explicitly.
bool FlagWasSpecified(absl::string_view flag);

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_FLAGS_H_
