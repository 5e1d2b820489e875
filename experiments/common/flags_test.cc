#include "experiments/common/flags.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace experiments {
namespace {

enum class Color { kRed, kGreen, kBlue };
constexpr Color kColors[] = {Color::kRed, Color::kGreen, Color::kBlue};
absl::string_view ColorName(Color c) {
  switch (c) {
    case Color::kRed: return "red";
    case Color::kGreen: return "green";
    case Color::kBlue: return "blue";
  }
  return "?";
}
std::vector<Color> Parse(absl::string_view text) {
  return ParseNameList("colors", text, std::span<const Color>(kColors),
                       ColorName, "color");
}

TEST(ParseNameList, KeepsTheOrderGivenAndSkipsBlanks) {
  EXPECT_EQ(Parse("blue, red"), (std::vector<Color>{Color::kBlue, Color::kRed}));
  EXPECT_EQ(Parse("green,,"), (std::vector<Color>{Color::kGreen}));
}

TEST(ParseNameList, UsesARepeatedNameOnceWithANote) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(Parse("red,blue,red"), (std::vector<Color>{Color::kRed, Color::kBlue}));
  const std::string notes = testing::internal::GetCapturedStderr();
  EXPECT_NE(notes.find("note: --colors: red given twice; used once"), std::string::npos) << notes;
}

TEST(ParseNameListDeathTest, RefusesAnUnknownNameListingTheKnownOnes) {
  EXPECT_EXIT(Parse("red,purple"), testing::ExitedWithCode(kUsageErrorExit),
              "--colors: unknown color 'purple' \\(known: red, green, blue\\)");
}

TEST(ParseNameListDeathTest, RefusesAnEmptyList) {
  EXPECT_EXIT(Parse(" , "), testing::ExitedWithCode(kUsageErrorExit), "--colors: no color given");
}

}  // namespace
}  // namespace experiments
