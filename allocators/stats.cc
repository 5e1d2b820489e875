#include "allocators/stats.h"

#include <limits>

#include "absl/strings/str_format.h"

namespace allocators {

double UtilizationPct(const AllocStats& s) {
  if (s.capacity_slots == 0) {
    return s.slots_demanded == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  }
  return 100.0 * static_cast<double>(s.slots_demanded) / static_cast<double>(s.capacity_slots);
}

double FallbackPct(const AllocStats& s) {
  if (s.allocations == 0) return 0.0;
  return 100.0 * static_cast<double>(s.fallback_allocations) / static_cast<double>(s.allocations);
}

void PrintStats(const AllocStats& s, std::ostream& out) {
  s.for_each_field([&out](std::string_view name, std::uint64_t value) {
    out << absl::StrFormat("  %-24s %16d\n", name, value);
  });
  out << absl::StrFormat("  %-24s %15.1f%%\n", "utilization", UtilizationPct(s));
  out << absl::StrFormat("  %-24s %15.1f%%\n", "fallback_rate", FallbackPct(s));
  out << "  verdict: " << (s.live_bytes == 0 ? "ok" : "not all freed");
  if (s.capacity_slots > 0 && UtilizationPct(s) >= 80.0) out << "; warning: pool utilization >= 80%";
  out << "\n";
}

}  // namespace allocators
