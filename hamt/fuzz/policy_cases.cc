#include "hamt/fuzz/policy_cases.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hamt/fuzz/policy_cases_internal.h"

namespace hamt::fuzz {

const std::vector<PolicyCase>& PolicyCases() {
  static const std::vector<PolicyCase> cases = [] {
    std::vector<internal::NumberedCase> numbered;
    internal::AppendShard<0>(numbered);
    internal::AppendShard<1>(numbered);
    internal::AppendShard<2>(numbered);
    std::sort(numbered.begin(), numbered.end(),
              [](const auto& a, const auto& b) { return a.position < b.position; });
    std::vector<PolicyCase> ordered;
    for (std::size_t i = 0; i < numbered.size(); ++i) {
      // Every position made by exactly one shard: checked always, it costs nothing here.
      if (numbered[i].position != i) {
        std::fprintf(stderr, "policy_cases: position %zu made by no shard or by two\n", i);
        std::abort();
      }
      ordered.push_back(std::move(numbered[i].policy_case));
    }
    return ordered;
  }();
  return cases;
}

std::vector<const PolicyCase*> SelectCases(std::string_view selector) {
  std::string wanted(selector);
  std::replace(wanted.begin(), wanted.end(), '-', '_');
  std::vector<const PolicyCase*> selected;
  for (const PolicyCase& c : PolicyCases()) {
    if (wanted.empty() || wanted == c.name || wanted == c.policy || wanted == c.group) {
      selected.push_back(&c);
    }
  }
  return selected;
}

}  // namespace hamt::fuzz
