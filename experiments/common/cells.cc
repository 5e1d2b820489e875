#include "experiments/common/cells.h"

#include <string_view>

#include "allocators/slot_pool.h"

namespace experiments {

std::vector<std::string> RegistryPoliciesFromFlag(absl::string_view flag,
                                                  const std::string& value) {
  const std::vector<std::string_view> known = allocators::PolicyNames();
  std::vector<std::string> policies;
  if (value.empty()) {
    policies.assign(known.begin(), known.end());
    return policies;
  }
  std::vector<absl::string_view> names;
  for (std::string_view name : known) names.emplace_back(name.data(), name.size());
  for (std::size_t i : ParseNameList(flag, value, names, "policy")) policies.emplace_back(known[i]);
  return policies;
}

void PreparePolicies(int argc, char** argv, const std::vector<std::string>& policies,
                     std::uint64_t pool_slots) {
  for (const std::string& policy : policies) {
    const allocators::PolicyInfo* info = allocators::FindPolicy(policy);
    if (info->needs_static_tls) allocators::ReexecWithStaticTlsIfNeeded(argc, argv);
    if (!info->owns_pool) continue;
    try {
      allocators::PolicyOptions options;
      options.pool = {.capacity_slots = pool_slots, .quiet = true};
      allocators::WithPolicy(policy, options, [](auto) {});
    } catch (const allocators::PoolReserveError& error) {
      FlagError("pool_slots", error.what());
    }
  }
}

}  // namespace experiments
