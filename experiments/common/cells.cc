#include "experiments/common/cells.h"

#include <string_view>

#include "absl/flags/flag.h"
#include "allocators/slot_pool.h"
#include "experiments/common/output.h"

ABSL_FLAG(std::string, policies, "",
          "allocator policies (allocators/registry.h lines), comma-separated; empty: every line");
ABSL_FLAG(std::string, pool_slots, "65536",
          "pool capacity in 8-byte slots (a growing pool's first chunk), as in the study");
ABSL_FLAG(std::string, out, "",
          "output directory (relative paths are under the workspace; default "
          "results/<experiment>/<process malloc>)");
ABSL_FLAG(bool, quiet, false, "no progress lines on stderr");
ABSL_FLAG(bool, wait_for_lock, false,
          "when another run is using --out, wait for it instead of failing at once");
ABSL_FLAG(std::string, cell, "",
          "internal: run this one cell (its spec, as the driver encodes it) and print its JSON "
          "report; the run starts one such process per cell");

namespace experiments {

std::string CellFlag() { return absl::GetFlag(FLAGS_cell); }

CellRun OpenCellRun(int argc, char** argv, const std::string& stem,
                    const std::string& process_malloc) {
  CellRun run;
  run.policies = RegistryPoliciesFromFlag("policies", absl::GetFlag(FLAGS_policies));
  const std::vector<std::uint64_t> pools =
      ParseCountList("pool_slots", absl::GetFlag(FLAGS_pool_slots), 0, 1ull << 40);
  if (pools.size() != 1) FlagError("pool_slots", "expected one capacity");
  run.pool_slots = pools[0];
  // Static TLS for jemalloc's arenas, and a pool this machine cannot reserve is a bad flag.
  PreparePolicies(argc, argv, run.policies, run.pool_slots);
  run.quiet = absl::GetFlag(FLAGS_quiet);
  try {
    const std::string out = absl::GetFlag(FLAGS_out);
    run.out_dir = PrepareOutputDirectory(out.empty() ? "results/" + stem + "/" + process_malloc
                                                     : out);
    run.store.emplace(RunStore::Open(run.out_dir, stem, absl::GetFlag(FLAGS_wait_for_lock),
                                     [](const std::string& note) { Note(note); }));
  } catch (const OutputError& error) {
    FlagError("out", error.what());
  }
  InstallInterruptHandler();
  return run;
}

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
