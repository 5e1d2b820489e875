#include "experiments/pool_exhaustion/findings.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "allocators/registry.h"
#include "experiments/common/console.h"
#include "experiments/pool_exhaustion/finding4_map.h"
#include "experiments/pool_exhaustion/sizing.h"

namespace experiments::pool_exhaustion {
namespace {

using F = CellField;
using Verdict = const char*;
constexpr Verdict kReproduced = "reproduced";
constexpr Verdict kNotReproduced = "not_reproduced";
constexpr Verdict kNotJudged = "not_judged";

std::string Count(double v) { return FormatCount(v); }
std::string Pct(double v) { return absl::StrFormat("%.1f%%", v); }

struct Draft {
  Draft(int id_, std::string title_, std::string criterion_)
      : id(id_), title(std::move(title_)), criterion(std::move(criterion_)) {}

  int id;
  std::string title, criterion;
  Verdict verdict = kNotJudged;
  std::string summary;
  std::vector<std::string> details;
  std::string needs;

  FindingRecord Done() const {
    return RecordFrom<schema::Finding>([this](schema::Finding::Field field) -> Value {
      using G = schema::Finding::Field;
      switch (field) {  // no default: a new schema field must be written here
        case G::kId: return std::int64_t{id};
        case G::kTitle: return title;
        case G::kVerdict: return std::string(verdict);
        case G::kCriterion: return criterion;
        case G::kSummary: return summary;
        case G::kDetails: return details;
        case G::kNeeds: return verdict == kNotJudged ? Value(needs) : Value();
      }
      throw SchemaError("finding: unknown field");
    });
  }
};

bool Is(const CellRecord& r, absl::string_view role, Policy policy) {
  return r.Str(F::kRole) == role && PolicyOf(r) == policy;
}

std::string RefNote(const ReferenceRecord* ref, schema::ReferenceRow::Field field,
                    const char* format) {
  if (ref == nullptr || ref->IsNull(field)) return "";
  return absl::StrFormat(format, ref->Float(field));
}

// ---- The reference study's side of each finding, from its figures (never typed in here).

using R = schema::ReferenceRow::Field;

// " Reference: 30.0-33.0 slots per entry."
std::string ReferenceSlotsPerEntry(const std::vector<ReferenceRecord>& cells) {
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (const ReferenceRecord& r : cells) {
    if (r.IsNull(R::kSlotsDemanded)) continue;
    const double spe = r.Float(R::kSlotsDemanded) / r.Float(R::kN);
    lo = std::min(lo, spe);
    hi = std::max(hi, spe);
  }
  if (hi == 0) return "";
  return absl::StrFormat(" Reference: %.1f-%.1f slots per entry.", lo, hi);
}

// " Reference: a 4,194,304-slot pool had 0 fallbacks at N=1,000..100,000 (0.8%..70.7%
// utilization)." from its largest pool.
std::string ReferenceSizedPool(const std::vector<ReferenceRecord>& cells) {
  std::uint64_t pool = 0;
  for (const ReferenceRecord& r : cells) pool = std::max(pool, r.Count(R::kPoolSlots));
  std::vector<const ReferenceRecord*> rows;
  for (const ReferenceRecord& r : cells) {
    if (r.Count(R::kPoolSlots) == pool && !r.IsNull(R::kFallbackPct) &&
        r.Float(R::kFallbackPct) == 0 && !r.IsNull(R::kUtilizationPct)) {
      rows.push_back(&r);
    }
  }
  if (rows.empty()) return "";
  std::sort(rows.begin(), rows.end(), [](const auto* a, const auto* b) {
    return a->Count(R::kN) < b->Count(R::kN);
  });
  return absl::StrFormat(
      " Reference: a %s-slot pool had 0 fallbacks at N=%s..%s (%.1f%%..%.1f%% utilization).",
      Count(pool), Count(rows.front()->Float(R::kN)), Count(rows.back()->Float(R::kN)),
      rows.front()->Float(R::kUtilizationPct), rows.back()->Float(R::kUtilizationPct));
}

// " Reference: insert x1.68 at N=10,000, x2.02 at N=100,000; query x0.88, x1.03." from the N
// where it reports both its smallest and largest pool's times.
std::string ReferenceRatios(const std::vector<ReferenceRecord>& cells) {
  std::uint64_t small = std::numeric_limits<std::uint64_t>::max(), large = 0;
  for (const ReferenceRecord& r : cells) {
    small = std::min(small, r.Count(R::kPoolSlots));
    large = std::max(large, r.Count(R::kPoolSlots));
  }
  std::vector<std::string> inserts, queries;
  for (const ReferenceRecord& s : cells) {
    if (s.Count(R::kPoolSlots) != small) continue;
    const ReferenceRecord* l = FindReference(cells, s.Count(R::kN), large);
    if (l == nullptr || s.IsNull(R::kInsertNsPerOp) || l->IsNull(R::kInsertNsPerOp) ||
        s.IsNull(R::kQueryNsPerOp) || l->IsNull(R::kQueryNsPerOp)) {
      continue;
    }
    inserts.push_back(absl::StrFormat("x%.2f at N=%s",
                                      s.Float(R::kInsertNsPerOp) / l->Float(R::kInsertNsPerOp),
                                      Count(s.Float(R::kN))));
    queries.push_back(absl::StrFormat("x%.2f", s.Float(R::kQueryNsPerOp) / l->Float(R::kQueryNsPerOp)));
  }
  if (inserts.empty()) return "";
  return absl::StrCat(" Reference: insert ", absl::StrJoin(inserts, ", "), "; query ",
                      absl::StrJoin(queries, ", "), ".");
}

// 1. Demand grows linearly with N.
Draft DemandIsLinear(const Results& results, const std::vector<ReferenceRecord>& reference) {
  Draft d(1, "Pool demand grows linearly with N",
          "R^2 >= 0.99 of a straight line through the bump pool's demand at 3 or more sizes");
  d.needs = "bump_pool cells at 3 or more distinct N (--policies=bump_pool --n=1K,10K,100K)";
  const auto demand = UnconstrainedDemand(results.rows, Policy::kBumpPool);
  const auto fit = FitDemand(results.rows, Policy::kBumpPool);
  for (const auto& [n, slots] : demand) {
    std::string ref;
    for (const ReferenceRecord& r : reference) {
      if (r.Count(R::kN) == n && !r.IsNull(R::kSlotsDemanded)) {
        ref = absl::StrFormat(" (reference %.1f)", r.Float(R::kSlotsDemanded) / n);
      }
    }
    d.details.push_back(absl::StrFormat("N=%s: %.2f slots per entry%s", Count(n), slots / n, ref));
  }
  if (!fit || demand.size() < 3) return d;
  using S = schema::SizingFit::Field;
  const double r2 = fit->IsNull(S::kRSquared) ? 0.0 : fit->Float(S::kRSquared);
  d.verdict = r2 >= 0.99 ? kReproduced : kNotReproduced;
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (const auto& [n, slots] : demand) {
    lo = std::min(lo, slots / n);
    hi = std::max(hi, slots / n);
  }
  d.summary = absl::StrFormat(
      "demand = %s + %.2f slots per entry x N, R^2 = %.4f over %d sizes; slots per entry range "
      "%.1f-%.1f as the trie's 32-way levels fill in waves.%s",
      Count(fit->Float(S::kFixedSlots)), fit->Float(S::kSlotsPerEntry), r2, demand.size(), lo, hi,
      ReferenceSlotsPerEntry(reference));
  return d;
}

// 2. Past capacity, the fallback share is predictable.
Draft FallbackFollowsPrediction(const Results& results,
                                const std::vector<ReferenceRecord>& reference) {
  Draft d(2, "Past capacity, the fallback share follows the demand (the study: 1 - capacity/demand)",
          "the demand model's fallback share within 1 percentage point of the measured one (mean "
          "over the hash seeds) for every exhausted bump pool; the study's formula is shown beside");
  d.needs = "a bump_pool cell whose demand exceeds its pool (e.g. --n=10K --pools=65536)";
  // Every seed of one (N, pool) cell: the model predicts the mean over tries.
  struct Group {
    std::vector<double> measured, formula;
    double model = 0;
  };
  std::map<std::pair<std::uint64_t, std::uint64_t>, Group> groups;
  for (const CellRecord& r : results.rows) {
    if (!Is(r, kGrid, Policy::kBumpPool) || r.Count(F::kPoolSlots) == 0) continue;
    Group& g = groups[{r.Count(F::kN), r.Count(F::kPoolSlots)}];
    g.measured.push_back(r.Float(F::kFallbackPct));
    g.formula.push_back(r.Float(F::kStudyPredictedFallbackPct));
    g.model = r.Float(F::kModelFallbackPct);
  }
  double worst = 0, worst_formula = 0;
  int exhausted = 0;
  for (const auto& [key, g] : groups) {
    const double measured = Mean(g.measured), formula = Mean(g.formula);
    if (measured == 0 && g.model < 0.05) continue;  // the pool held the build
    ++exhausted;
    worst = std::max(worst, std::abs(g.model - measured));
    worst_formula = std::max(worst_formula, std::abs(formula - measured));
    d.details.push_back(absl::StrFormat(
        "N=%s pool=%s: measured %s (%s), model %s, study's formula %s%s", Count(key.first),
        Count(key.second), Pct(measured),
        g.measured.size() > 1
            ? absl::StrFormat("sd %.2f over %d seeds", StandardDeviation(g.measured),
                              g.measured.size())
            : std::string("one seed"),
        Pct(g.model), Pct(formula),
        RefNote(FindReference(reference, key.first, key.second),
                schema::ReferenceRow::Field::kFallbackPct, ", reference %.0f%%")));
  }
  if (exhausted == 0) return d;
  d.verdict = worst <= 1.0 ? kReproduced : kNotReproduced;
  d.summary = absl::StrFormat(
      "the model misses the measured share by at most %.2f percentage points over %d exhausted "
      "cells; the study's formula 1 - capacity/demand, by up to %.1f.",
      worst, exhausted, worst_formula);
  if (worst_formula > worst + 1.0) {
    d.summary +=
        " The formula assumes every key demands the same slots; the keys that fit before "
        "exhaustion demand more or fewer than the build's average, which the model accounts for.";
  }
  return d;
}

// 3. A pool sized in advance for the largest N has zero fallbacks.
Draft SizedPoolHasNoFallback(const Results& results,
                             const std::vector<ReferenceRecord>& reference) {
  Draft d(3, "A pool sized in advance for the largest N has zero fallbacks",
          "the pool the demand model recommends for the largest N (its predicted demand plus the "
          "headroom), chosen before the build and re-measured, has 0 fallbacks");
  d.needs = "a bump_pool cell (the largest N of the bump pool is the one sized)";
  for (const CellRecord& r : results.rows) {
    if (!Is(r, kVerification, Policy::kBumpPool)) continue;
    const bool clean = r.Count(F::kFallbackAllocations) == 0;
    d.verdict = clean ? kReproduced : kNotReproduced;
    d.summary = absl::StrFormat(
        "for N=%s the model predicted a demand of %s slots and recommended %s; the build demanded "
        "%s (%s utilization) with %s fallbacks.%s",
        Count(r.Float(F::kN)), Count(r.Float(F::kModelSlotsDemanded)),
        Count(r.Float(F::kPoolSlots)), Count(r.Float(F::kSlotsDemanded)),
        Pct(r.Float(F::kUtilizationPct)), Count(r.Float(F::kFallbackAllocations)),
        ReferenceSizedPool(reference));
  }
  const std::vector<std::uint64_t> pools = GridPools(results.rows);
  if (!pools.empty()) {
    for (const CellRecord& r : results.rows) {
      if (!Is(r, kGrid, Policy::kBumpPool) || r.Count(F::kPoolSlots) != pools.back() ||
          r.Count(F::kSeed) != 0) {
        continue;
      }
      d.details.push_back(absl::StrFormat(
          "largest pool %s, N=%s: %s fallbacks at %s utilization%s", Count(pools.back()),
          Count(r.Float(F::kN)), Count(r.Float(F::kFallbackAllocations)),
          r.IsNull(F::kUtilizationPct) ? "-" : Pct(r.Float(F::kUtilizationPct)),
          RefNote(FindReference(reference, r.Count(F::kN), pools.back()), R::kUtilizationPct,
                  " (reference %.1f%%)")));
    }
  }
  return d;
}

// A finding-4 configuration as prose: "malloc (glibc 2.36), lazy pages".
std::string ConfigName(const Finding4Record& r) {
  using G = schema::Finding4Ratio::Field;
  const std::string& fallback = r.Str(G::kFallback);
  return absl::StrFormat("%s%s, %s pages", fallback,
                         fallback == allocators::kDefaultFallback
                             ? absl::StrCat(" (", r.Str(G::kProcessMalloc), ")")
                             : std::string(),
                         r.Str(G::kPages));
}

// " (reference insert x2.02, query x1.03)", each where the study reported it.
std::string ReferenceNote(const Finding4Record& r) {
  using G = schema::Finding4Ratio::Field;
  std::vector<std::string> parts;
  if (!r.IsNull(G::kReferenceInsertRatio)) {
    parts.push_back(absl::StrFormat("insert x%.2f", r.Float(G::kReferenceInsertRatio)));
  }
  if (!r.IsNull(G::kReferenceQueryRatio)) {
    parts.push_back(absl::StrFormat("query x%.2f", r.Float(G::kReferenceQueryRatio)));
  }
  return parts.empty() ? "" : absl::StrCat(" (reference ", absl::StrJoin(parts, ", "), ")");
}

// 4. Inserts slow down when fallbacks dominate; queries do not.
Draft InsertsSlowQueriesDoNot(const Results& results,
                              const std::vector<ReferenceRecord>& reference) {
  using G = schema::Finding4Ratio::Field;
  Draft d(4, "Inserts slow down when fallbacks dominate; queries do not",
          absl::StrFormat(
              "median over N of the paired insert ratio exhausted/sized pool >= x%.2f and of the "
              "query ratio within %.0f%% of 1, over every N where the smallest pool sends >= "
              "%.0f%% of allocations to the fallback and the largest none, the two measured "
              "interleaved; judged in the run's configuration and named for every fallback and "
              "page policy measured (finding4_map)",
              schema::kFinding4MinInsertRatio, 100 * schema::kFinding4QueryTolerance,
              schema::kFinding4MinFallbackPct));
  d.needs = "bump_pool cells at one N with two pools: one sending most allocations to the "
            "fallback, one with none (e.g. --n=100K --pools=65536,4194304)";
  // Every configuration's ratios over N, in the order measured.
  struct Tally {
    std::string name;
    bool grid = false;
    Pages pages;
    std::vector<double> insert, query, sized_faults, exhausted_faults, span;
    double Insert() const { return Median(insert); }
    double Query() const { return Median(query); }
  };
  std::vector<Tally> tallies;
  for (const Finding4Record& r : results.finding4_map) {
    const std::string name = ConfigName(r);
    auto it = std::find_if(tallies.begin(), tallies.end(),
                           [&](const Tally& t) { return t.name == name; });
    if (it == tallies.end()) {
      Tally& t = tallies.emplace_back();
      t.name = name;
      t.grid = r.Bool(G::kGrid);
      t.pages = *ParsePages(r.Str(G::kPages));
      it = tallies.end() - 1;
    }
    it->insert.push_back(r.Float(G::kInsertRatio));
    it->query.push_back(r.Float(G::kQueryRatio));
    it->sized_faults.push_back(r.Float(G::kSizedFaultsPerInsert));
    it->exhausted_faults.push_back(r.Float(G::kExhaustedFaultsPerInsert));
    it->span.push_back(r.Float(G::kSizedSpanPerLiveByte));
    d.details.push_back(absl::StrFormat(
        "N=%s, %s (%.0f%% fallback): insert %.1f vs %.1f ns (medians), paired x%.2f [%.2f-%.2f]; "
        "query %.1f vs %.1f ns, paired x%.2f [%.2f-%.2f]; page faults per insert %.4f exhausted, "
        "%.4f sized%s%s",
        Count(r.Float(G::kN)), name, r.Float(G::kFallbackPct), r.Float(G::kExhaustedInsertNs),
        r.Float(G::kSizedInsertNs), r.Float(G::kInsertRatio), r.Float(G::kInsertRatioMin),
        r.Float(G::kInsertRatioMax), r.Float(G::kExhaustedQueryNs), r.Float(G::kSizedQueryNs),
        r.Float(G::kQueryRatio), r.Float(G::kQueryRatioMin), r.Float(G::kQueryRatioMax),
        r.Float(G::kExhaustedFaultsPerInsert), r.Float(G::kSizedFaultsPerInsert),
        r.IsNull(G::kSizedAnonHugeKb) || r.Int(G::kSizedAnonHugeKb) == 0
            ? std::string()
            : absl::StrFormat("; %s KiB on huge pages", Count(r.Float(G::kSizedAnonHugeKb))),
        ReferenceNote(r)));
  }
  const auto grid = std::find_if(tallies.begin(), tallies.end(),
                                 [](const Tally& t) { return t.grid; });
  if (grid == tallies.end()) return d;
  d.verdict = Finding4Holds(grid->Insert(), grid->Query()) ? kReproduced : kNotReproduced;
  d.summary = absl::StrFormat("%s: median insert ratio x%.2f, query x%.2f", grid->name,
                              grid->Insert(), grid->Query());
  if (tallies.size() > 1) {
    // Each half of the finding, named per configuration (medians over N).
    auto list = [&](auto&& keep, auto&& ratio) {
      std::vector<std::string> names;
      for (const Tally& t : tallies) {
        if (keep(t)) names.push_back(absl::StrFormat("%s x%.2f", t.name, ratio(t)));
      }
      return std::make_pair(names.size(),
                            names.empty() ? std::string("none") : absl::StrJoin(names, "; "));
    };
    auto insert = [](const Tally& t) { return t.Insert(); };
    auto query = [](const Tally& t) { return t.Query(); };
    const auto slow = list([](const Tally& t) { return Finding4InsertsSlow(t.Insert()); }, insert);
    const auto fast = list([](const Tally& t) { return !Finding4InsertsSlow(t.Insert()); }, insert);
    const auto same =
        list([](const Tally& t) { return Finding4QueriesUnchanged(t.Query()); }, query);
    const auto moved =
        list([](const Tally& t) { return !Finding4QueriesUnchanged(t.Query()); }, query);
    const auto both =
        list([](const Tally& t) { return Finding4Holds(t.Insert(), t.Query()); }, insert);
    absl::StrAppendFormat(
        &d.summary,
        ". Of %d configurations, inserts slow down in %d (%s) and not in %d (%s); queries stay "
        "within %.0f%% in %d (%s) and move in %d (%s); the whole finding holds in %d (%s)",
        tallies.size(), slow.first, slow.second, fast.first, fast.second,
        100 * schema::kFinding4QueryTolerance, same.first, same.second, moved.first,
        moved.second, both.first, both.second);
    // What was measured of the mechanism: first-touch page faults per page policy (a lazily
    // touched sized pool faults once per fresh 4 KiB page), and how widely the sized pool spreads
    // its live nodes (a bump pool never reuses a freed slot).
    std::vector<std::string> faults;
    for (const Pages& pages : kAllPages) {
      for (const Tally& t : tallies) {
        if (!(t.pages == pages)) continue;
        faults.push_back(absl::StrFormat("%s %.4f (exhausted %.4f)", PagesName(pages),
                                         Median(t.sized_faults), Median(t.exhausted_faults)));
        break;
      }
    }
    absl::StrAppendFormat(&d.summary,
                          ". Page faults per insert in the sized pool: %s. The sized pool handed "
                          "out x%.1f its live bytes",
                          absl::StrJoin(faults, ", "), Median(grid->span));
  }
  d.summary += "." + ReferenceRatios(reference);
  return d;
}

// 5. A fallback costs far more than a bump.
Draft FallbackCostsMore(const Results& results, const std::vector<ReferenceCostRecord>& costs) {
  Draft d(5, "One fallback costs far more than one bump allocation",
          "fallback / bump time per allocation >= x3, allocations in a row on fresh memory");
  d.needs = "a bump_pool cell (its mean node-array size is the block measured)";
  std::optional<double> bump, fallback, bump_grow, fallback_grow;
  std::int64_t block = 0;
  using C = schema::AllocationCost::Field;
  for (const CostRecord& c : results.allocation_costs) {
    const bool batch = c.Str(C::kPattern) == "batch", by_bump = c.Str(C::kServedBy) == "bump";
    auto& slot = batch ? (by_bump ? bump : fallback) : (by_bump ? bump_grow : fallback_grow);
    slot = c.Float(C::kNsPerAllocation);
    block = c.Int(C::kBlockBytes);
  }
  if (!bump || !fallback) return d;
  const double ratio = *fallback / *bump;
  d.verdict = ratio >= 3.0 ? kReproduced : kNotReproduced;
  d.summary = absl::StrFormat("%d-byte blocks: bump %.2f ns, fallback %.2f ns, x%.1f.", block,
                              *bump, *fallback, ratio);
  std::optional<double> ref_bump, ref_fallback;
  using K = schema::ReferenceCost::Field;
  for (const ReferenceCostRecord& c : costs) {
    (c.Str(K::kServedBy) == "bump" ? ref_bump : ref_fallback) = c.Float(K::kNsPerAllocation);
  }
  if (ref_bump && ref_fallback) {
    absl::StrAppendFormat(&d.summary, " Reference: bump ~%g ns, fallback ~%g ns (x%.0f).",
                          *ref_bump, *ref_fallback, *ref_fallback / *ref_bump);
  }
  if (bump_grow && fallback_grow) {
    d.details.push_back(absl::StrFormat(
        "the map's own pattern (allocate the grown array, free the old one): bump %.2f ns, "
        "fallback %.2f ns per allocate+free, x%.1f; malloc hands the block just freed straight "
        "back",
        *bump_grow, *fallback_grow, *fallback_grow / *bump_grow));
  }
  return d;
}

// 6. The recycler serves a much larger N.
Draft RecyclerServesLargerN(const Results& results) {
  Draft d(6, "The recycler's demand stays near the live size, so the same pool serves a much "
             "larger N",
          "slot_recycler demand / peak live slots <= x1.5 at its largest N, and for every pool the "
          "recycler serves >= x2 the keys the bump pool does without fallback");
  d.needs = "slot_recycler and bump_pool cells with at least one pool (their capacities are "
            "measured for each pool)";
  const auto demand = UnconstrainedDemand(results.rows, Policy::kSlotRecycler);
  double largest_ratio = 0;
  for (const auto& [n, mean_over_seeds] : demand) {
    (void)mean_over_seeds;  // the Ns measured without fallback; the ratio is per trie
    for (const CellRecord& r : results.rows) {
      if (!Is(r, kGrid, Policy::kSlotRecycler) || r.Count(F::kN) != n || r.Count(F::kSeed) != 0 ||
          r.Count(F::kFallbackAllocations) > 0) {
        continue;
      }
      // This seed's own demand over its own peak: one trie, not a mean over tries.
      const double demanded = r.Float(F::kSlotsDemanded);
      const double peak_live_slots = r.Float(F::kPeakLiveBytes) / 8.0;
      largest_ratio = demanded / peak_live_slots;
      d.details.push_back(absl::StrFormat("N=%s: %s slots demanded for %s peak live (x%.2f)",
                                          Count(n), Count(demanded), Count(peak_live_slots),
                                          largest_ratio));
      break;
    }
  }
  using P = schema::PoolCapacity::Field;
  double smallest_gain = std::numeric_limits<double>::infinity();
  int pairs = 0;
  bool cut_off = false;
  for (const CapacityRecord& recycler : results.capacities) {
    if (recycler.Str(P::kPolicy) != "slot_recycler") continue;
    for (const CapacityRecord& bump : results.capacities) {
      if (bump.Str(P::kPolicy) != "bump_pool" ||
          bump.Count(P::kPoolSlots) != recycler.Count(P::kPoolSlots)) {
        continue;
      }
      const double gain = recycler.Float(P::kLargestN) / std::max(1.0, bump.Float(P::kLargestN));
      d.details.push_back(absl::StrFormat(
          "pool %s: recycler %s%s vs bump %s%s keys without fallback (x%.1f%s)",
          Count(recycler.Float(P::kPoolSlots)), recycler.Bool(P::kLowerBound) ? ">= " : "",
          Count(recycler.Float(P::kLargestN)), bump.Bool(P::kLowerBound) ? ">= " : "",
          Count(bump.Float(P::kLargestN)), gain,
          bump.Bool(P::kLowerBound) ? ", not known: the search stopped" : ""));
      // A cut-off search bounds the ratio only when the recycler's side was cut off and the
      // bound already clears x2; a cut-off bump count leaves the ratio unknown.
      if (bump.Bool(P::kLowerBound) || (recycler.Bool(P::kLowerBound) && gain < 2.0)) {
        cut_off = true;
        continue;
      }
      smallest_gain = std::min(smallest_gain, gain);
      ++pairs;
    }
  }
  if (cut_off) {
    d.needs = "a larger --capacity_search_limit: a search stopped before the first fallback";
  }
  if (demand.empty() || pairs == 0 || cut_off) return d;
  d.verdict = largest_ratio <= 1.5 && smallest_gain >= 2.0 ? kReproduced : kNotReproduced;
  d.summary = absl::StrFormat(
      "demand / peak live x%.2f at the largest N; the recycler serves at least x%.1f the keys. "
      "Reference: recycling was recommended, not measured.",
      largest_ratio, smallest_gain);
  return d;
}

}  // namespace

std::vector<FindingRecord> JudgeFindings(const Results& results, const Reference& reference) {
  return {DemandIsLinear(results, reference.cells).Done(),
          FallbackFollowsPrediction(results, reference.cells).Done(),
          SizedPoolHasNoFallback(results, reference.cells).Done(),
          InsertsSlowQueriesDoNot(results, reference.cells).Done(),
          FallbackCostsMore(results, reference.costs).Done(),
          RecyclerServesLargerN(results).Done()};
}

}  // namespace experiments::pool_exhaustion
