// Shard 0 of policy_cases.h's cases (policy_cases_internal.h).
#include "hamt/fuzz/policy_cases_internal.h"

namespace hamt::fuzz::internal {
template void AppendShard<0>(std::vector<NumberedCase>&);
}  // namespace hamt::fuzz::internal
