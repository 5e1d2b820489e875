#include "experiments/common/console.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace experiments {

std::string FormatCount(double value) {
  std::string digits = absl::StrFormat("%.0f", value);
  std::string out;
  const std::size_t start = digits[0] == '-' ? 1 : 0;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > start && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

int ConsoleWidth() {
  winsize size{};
  if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col >= 40) {
    return size.ws_col;
  }
  return 100;
}

std::string Wrap(absl::string_view text, int width, absl::string_view first_indent,
                 absl::string_view indent) {
  std::string out(first_indent);
  std::size_t line_length = first_indent.size();
  bool line_empty = true;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line_empty && line_length + 1 + word.size() > static_cast<std::size_t>(width)) {
      absl::StrAppend(&out, "\n", indent);
      line_length = indent.size();
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++line_length;
    }
    absl::StrAppend(&out, word);
    line_length += word.size();
    line_empty = false;
  }
  return out + "\n";
}

std::string QuoteValue(absl::string_view value) {
  constexpr std::size_t kMax = 40;
  if (value.size() <= kMax) return absl::StrCat("'", value, "'");
  return absl::StrCat("'", value.substr(0, kMax), "...' (", value.size(), " characters)");
}

}  // namespace experiments
