#include "experiments/common/flags.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <new>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "experiments/common/console.h"
#include "experiments/common/interrupt.h"
#include "experiments/common/output.h"

namespace experiments {
namespace {

std::string program_name = "experiment";
std::vector<std::string> specified_flags;

// Abseil's flags that read flags from elsewhere: not supported, since every flag must pass the
// checks below (a --flagfile line would reach Abseil's own error path, with exit status 1).
bool IsIndirectFlag(absl::string_view name) {
  return name == "flagfile" || name == "fromenv" || name == "tryfromenv" || name == "undefok";
}

// Abseil's help and version flags: all of them print this program's help, with exit status 0.
bool IsHelpFlag(absl::string_view name) {
  return name == "help" || name == "helpfull" || name == "helpshort" || name == "helppackage" ||
         name == "helpon" || name == "helpmatch" || name == "version" || name == "only_check_args";
}

std::string usage_message;

// --help: the usage line, then every flag this program defines (not Abseil's own), with its help
// and default, on stdout; exit status 0. Abseil's own --help only lists flags from a file named
// after the binary, which per-malloc builds (pool_exhaustion_glibc) never match.
[[noreturn]] void PrintHelpAndExit() {
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::StrContains(flag->Filename(), "experiments/")) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(), [](const absl::CommandLineFlag* a,
                                           const absl::CommandLineFlag* b) {
    return a->Name() < b->Name();
  });
  std::cout << usage_message << "\n\nFlags:\n";
  for (const absl::CommandLineFlag* flag : flags) {
    std::cout << "  --" << flag->Name() << "  " << flag->Help() << " (default: "
              << (flag->DefaultValue().empty() ? "\"\"" : flag->DefaultValue()) << ")\n";
  }
  std::cout << "  --help  this text\n";
  std::exit(0);
}

void CheckArguments(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;  // positional
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    absl::string_view name = arg;
    absl::string_view value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    if (IsHelpFlag(name)) PrintHelpAndExit();
    if (IsIndirectFlag(name)) FlagError(name, "not supported: give every flag on the command line");
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    bool negated = false;
    if (flag == nullptr && name.substr(0, 2) == "no") {
      flag = absl::FindCommandLineFlag(name.substr(2));
      negated = flag != nullptr && flag->IsOfType<bool>();
      if (!negated) flag = nullptr;
    }
    if (flag == nullptr) {
      FlagError(name.size() > 40 ? absl::StrCat(name.substr(0, 40), "...") : std::string(name),
                "unknown flag (see --help)");
    }
    if (negated) {
      if (has_value) FlagError(name, "a --no flag takes no value");
      specified_flags.emplace_back(flag->Name());
      continue;
    }
    if (!has_value) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        FlagError(name, "missing value");
      }
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      FlagError(name, absl::StrCat("bad value ", QuoteValue(value), ": ", error));
    }
    specified_flags.emplace_back(flag->Name());
  }
}

}  // namespace

void Fail(absl::string_view message, int status) {
  std::cerr << program_name << ": " << message << std::endl;
  std::exit(status);
}

void FlagError(absl::string_view flag, absl::string_view message) {
  Fail(absl::StrCat("--", flag, ": ", message), kUsageErrorExit);
}

void ParseFlagsOrExit(int argc, char** argv, absl::string_view usage, absl::string_view program) {
  ParseFlagsAndArgumentsOrExit(argc, argv, usage, 0, program);
}

std::vector<std::string> ParseFlagsAndArgumentsOrExit(int argc, char** argv,
                                                      absl::string_view usage,
                                                      std::size_t max_arguments,
                                                      absl::string_view program) {
  if (!program.empty()) {
    program_name = std::string(program);
  } else if (argc > 0) {
    absl::string_view path = argv[0];
    program_name = std::string(path.substr(path.rfind('/') + 1));
  }
  absl::SetProgramUsageMessage(usage);
  usage_message = std::string(usage);
  CheckArguments(argc, argv);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  // A stray word beyond what the program reads is a mistyped flag.
  if (positional.size() > 1 + max_arguments) {
    Fail(absl::StrCat("unexpected argument ", QuoteValue(positional[1 + max_arguments]),
                      " (flags start with --; see --help)"),
         kUsageErrorExit);
  }
  return std::vector<std::string>(positional.begin() + 1, positional.end());
}

bool FlagWasSpecified(absl::string_view flag) {
  for (const std::string& name : specified_flags) {
    if (name == flag) return true;
  }
  return false;
}

std::vector<std::uint64_t> ParseCountList(absl::string_view flag, absl::string_view text,
                                          std::uint64_t min_value, std::uint64_t max_value) {
  std::vector<std::uint64_t> values;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    std::string token(absl::StripAsciiWhitespace(item));
    std::erase(token, '_');
    std::erase(token, '\'');
    std::uint64_t multiplier = 1;
    if (!token.empty()) {
      const char suffix = absl::ascii_toupper(token.back());
      if (suffix == 'K') multiplier = 1'000;
      if (suffix == 'M') multiplier = 1'000'000;
      if (multiplier != 1) token.pop_back();
    }
    const bool digits_only =
        !token.empty() && token.find_first_not_of("0123456789") == std::string::npos;
    if (!digits_only) {
      FlagError(flag, absl::StrCat(QuoteValue(item), " is not a whole number in [", min_value,
                                   ", ", max_value, "]"));
    }
    std::uint64_t value = 0;
    if (!absl::SimpleAtoi(token, &value) || value > max_value / multiplier) {
      FlagError(flag, absl::StrCat(QuoteValue(item), " is out of range [", min_value, ", ",
                                   max_value, "]"));
    }
    value *= multiplier;
    if (value < min_value || value > max_value) {
      FlagError(flag, absl::StrCat(QuoteValue(item), " is out of range [", min_value, ", ",
                                   max_value, "]"));
    }
    values.push_back(value);
  }
  return values;
}

std::vector<std::size_t> ParseNameList(absl::string_view flag, absl::string_view text,
                                       std::span<const absl::string_view> names,
                                       absl::string_view what) {
  std::vector<std::size_t> chosen;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    const auto it = std::find(names.begin(), names.end(), item);
    if (it == names.end()) {
      FlagError(flag, absl::StrCat("unknown ", what, " ", QuoteValue(item), " (known: ",
                                   absl::StrJoin(names, ", "), ")"));
    }
    const auto index = static_cast<std::size_t>(it - names.begin());
    if (std::find(chosen.begin(), chosen.end(), index) != chosen.end()) {
      Note(absl::StrCat("--", flag, ": ", item, " given twice; used once"));
      continue;
    }
    chosen.push_back(index);
  }
  if (chosen.empty()) FlagError(flag, absl::StrCat("no ", what, " given"));
  return chosen;
}

void Note(absl::string_view message) {
  std::cerr << program_name << ": note: " << message << std::endl;
}

int GuardedMain(const std::function<int()>& body) {
  try {
    return body();
  } catch (const Interrupted&) {
    Fail("interrupted; the published results are unchanged", 130);
  } catch (const OutputError& error) {
    Fail(absl::StrCat(error.what(), "; the published results are unchanged"), 1);
  } catch (const std::bad_alloc&) {
    Fail("out of memory (an allocation failed)", 1);
  } catch (const std::exception& error) {
    Fail(absl::StrCat("error: ", error.what()), 1);
  }
}

}  // namespace experiments
