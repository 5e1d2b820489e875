// experiments/common/console.h: text for people: thousands separators and wrapped paragraphs.
#ifndef HAMT_ALLOC_EXPERIMENTS_COMMON_CONSOLE_H_
#define HAMT_ALLOC_EXPERIMENTS_COMMON_CONSOLE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace experiments {

// 1234567 -> "1,234,567" (rounded to a whole number).
std::string FormatCount(double value);

// The width to wrap console text to: the terminal's when stdout is one, else 100 columns.
int ConsoleWidth();

// Wraps `text` at spaces so that no line is longer than `width` (a longer word stays whole); the
// first line starts with `first_indent`, the others with `indent`. Ends with a newline.
std::string Wrap(absl::string_view text, int width, absl::string_view first_indent,
                 absl::string_view indent);

// A flag value quoted for an error message, shortened when long: 'abc', 'aaaa...' (5000 characters).
std::string QuoteValue(absl::string_view value);

}  // namespace experiments

#endif  // HAMT_ALLOC_EXPERIMENTS_COMMON_CONSOLE_H_
