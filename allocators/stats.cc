#include "allocators/stats.h"

#include <limits>

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

}  // namespace allocators
