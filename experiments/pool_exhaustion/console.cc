#include "experiments/pool_exhaustion/console.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "experiments/common/console.h"

namespace experiments::pool_exhaustion {
namespace {

using F = CellField;
using R = schema::ReferenceRow::Field;

std::string Ref(const ReferenceRecord* ref, R field, int digits) {
  if (ref == nullptr || ref->IsNull(field)) return "-";
  return absl::StrFormat("%.*f", digits, ref->Float(field));
}

}  // namespace

std::string FormatTable(const std::vector<CellRecord>& rows,
                        const std::vector<ReferenceRecord>& reference) {
  constexpr const char* kFormat =
      "%-13s %10s %10s | %11s %11s %11s | %9s %8s | %8s %8s %8s %6s | %21s | %8s %6s | %7s %6s\n";
  std::string out;
  absl::StrAppendFormat(&out, kFormat, "policy", "N", "pool", "demand", "model", "ref", "util",
                        "ref", "fallback", "model", "formula", "ref", "fallbacks/allocations",
                        "insert", "ref", "query", "ref");
  absl::StrAppendFormat(&out, kFormat, "", "keys", "slots", "slots", "slots", "slots", "%", "%",
                        "%", "%", "%", "%", "", "ns/op", "ns/op", "ns/op", "ns/op");
  out += std::string(190, '-') + "\n";
  for (const CellRecord& r : rows) {
    if (r.Str(F::kRole) != kGrid || r.Count(F::kSeed) != 0) continue;
    const bool bump = PolicyOf(r) == Policy::kBumpPool;
    const bool pool = HasPool(PolicyOf(r));
    const ReferenceRecord* ref =
        bump ? FindReference(reference, r.Count(F::kN), r.Count(F::kPoolSlots)) : nullptr;
    const double demand = r.Float(F::kSlotsDemanded), slots = r.Float(F::kPoolSlots);
    absl::StrAppendFormat(
        &out, kFormat, r.Str(F::kPolicy), FormatCount(r.Float(F::kN)),
        pool ? FormatCount(slots) : "-", FormatCount(demand),
        r.IsNull(F::kModelSlotsDemanded) ? "-" : FormatCount(r.Float(F::kModelSlotsDemanded)),
        ref && !ref->IsNull(R::kSlotsDemanded) ? FormatCount(ref->Float(R::kSlotsDemanded)) : "-",
        r.IsNull(F::kUtilizationPct) ? "-" : absl::StrFormat("%.1f", r.Float(F::kUtilizationPct)),
        Ref(ref, R::kUtilizationPct, 1), absl::StrFormat("%.1f", r.Float(F::kFallbackPct)),
        r.IsNull(F::kModelFallbackPct) ? "-" : absl::StrFormat("%.1f", r.Float(F::kModelFallbackPct)),
        bump && slots > 0 ? absl::StrFormat("%.1f", r.Float(F::kStudyPredictedFallbackPct)) : "-",
        Ref(ref, R::kFallbackPct, 0),
        absl::StrCat(FormatCount(r.Float(F::kFallbackAllocations)), " / ",
                     FormatCount(r.Float(F::kAllocations))),
        absl::StrFormat("%.1f", r.Float(F::kInsertNsPerOp)), Ref(ref, R::kInsertNsPerOp, 0),
        absl::StrFormat("%.1f", r.Float(F::kQueryNsPerOp)), Ref(ref, R::kQueryNsPerOp, 0));
  }
  out +=
      "seed 0 of each cell; demand: fresh slots requested (incl. fallbacks); model: the demand "
      "model's expectation (model/demand_model.h); formula: the study's 1 - capacity/demand; ref: "
      "the reference study (experiments/reference/), bump pool only; '-': not reported or not "
      "applicable.\n";
  return out;
}

std::string FormatFindings(const std::vector<FindingRecord>& findings, int width) {
  using G = schema::Finding::Field;
  std::string out = "\nFindings\n";
  std::map<std::string, int> tally;
  for (const FindingRecord& f : findings) {
    const std::string& verdict = f.Str(G::kVerdict);
    ++tally[verdict];
    const std::string label = verdict == "reproduced"       ? "reproduced"
                              : verdict == "not_reproduced" ? "NOT reproduced"
                                                            : "not judged";
    out += Wrap(absl::StrFormat("%d. [%s] %s", f.Int(G::kId), label, f.Str(G::kTitle)), width,
                "  ", "     ");
    out += Wrap("criterion: " + f.Str(G::kCriterion), width, "     ", "       ");
    if (!f.Str(G::kSummary).empty()) out += Wrap(f.Str(G::kSummary), width, "     ", "     ");
    if (!f.IsNull(G::kNeeds)) out += Wrap("needs: " + f.Str(G::kNeeds), width, "     ", "       ");
    for (const std::string& line : f.StrList(G::kDetails)) {
      out += Wrap(line, width, "       - ", "         ");
    }
  }
  absl::StrAppendFormat(&out, "  %d of %d findings reproduced, %d not reproduced, %d not judged.\n",
                        tally["reproduced"], findings.size(), tally["not_reproduced"],
                        tally["not_judged"]);
  return out;
}

std::string FormatFinding4Map(const std::vector<Finding4Record>& map) {
  using G = schema::Finding4Ratio::Field;
  if (map.empty()) return "";
  constexpr const char* kFormat =
      "  %10s %-10s %-15s %5s | %8s %8s %7s %7s | %8s %8s %7s %7s | %8s %8s | %9s %5s | %s\n";
  std::string out = absl::StrFormat(
      "\nFinding 4 by fallback and page policy (exhausted %s-slot pool over sized %s-slot pool; "
      "malloc: %s)\n",
      FormatCount(map.front().Float(G::kExhaustedPool)),
      FormatCount(map.front().Float(G::kSizedPool)), map.front().Str(G::kProcessMalloc));
  absl::StrAppendFormat(&out, kFormat, "N", "fallback", "pages", "fb %", "insert", "insert",
                        "paired", "ref", "query", "query", "paired", "ref", "faults/", "faults/",
                        "huge KiB", "span/", "holds");
  absl::StrAppendFormat(&out, kFormat, "keys", "", "", "", "exh. ns", "sized ns", "ratio", "",
                        "exh. ns", "sized ns", "ratio", "", "ins exh", "ins szd", "sized", "live",
                        "");
  out += "  " + std::string(164, '-') + "\n";
  auto ref = [](const Finding4Record& r, G field) {
    return r.IsNull(field) ? std::string("-") : absl::StrFormat("x%.2f", r.Float(field));
  };
  auto num = [](const Finding4Record& r, G field, int digits, const char* prefix = "") {
    return absl::StrFormat("%s%.*f", prefix, digits, r.Float(field));
  };
  for (const Finding4Record& r : map) {
    absl::StrAppendFormat(
        &out, kFormat, FormatCount(r.Float(G::kN)), r.Str(G::kFallback),
        absl::StrCat(r.Str(G::kPages), r.Bool(G::kGrid) ? " *" : ""),
        num(r, G::kFallbackPct, 0), num(r, G::kExhaustedInsertNs, 1),
        num(r, G::kSizedInsertNs, 1), num(r, G::kInsertRatio, 2, "x"),
        ref(r, G::kReferenceInsertRatio), num(r, G::kExhaustedQueryNs, 1),
        num(r, G::kSizedQueryNs, 1), num(r, G::kQueryRatio, 2, "x"),
        ref(r, G::kReferenceQueryRatio), num(r, G::kExhaustedFaultsPerInsert, 4),
        num(r, G::kSizedFaultsPerInsert, 4),
        r.IsNull(G::kSizedAnonHugeKb) ? std::string("-")
                                      : FormatCount(r.Float(G::kSizedAnonHugeKb)),
        num(r, G::kSizedSpanPerLiveByte, 1), r.Bool(G::kHolds) ? "yes" : "no");
  }
  out += "  *: the run's own configuration, re-measured like the others (each exhausted cell "
         "interleaved with its sized one); paired ratio: median of the per-repetition ratios. "
         "ref: the reference study (macOS, Apple M4 Pro). faults: minor page faults per insert "
         "(getrusage). huge KiB: AnonHugePages after the sized pool's build. span/live: bytes the "
         "sized pool handed out per live byte.\n";
  return out;
}

std::string FormatSizing(const Results& results, int width) {
  std::string out = "\nSizing\n";
  using Q = schema::Recommendation::Field;
  if (!results.recommendations.empty()) {
    absl::StrAppendFormat(
        &out, "  recommended pool = the demand model's expected demand x %.2f (measured: the same "
              "from this run's demand):\n",
        1.0 + results.recommendations.front().Float(Q::kHeadroomPct) / 100.0);
    std::map<std::int64_t, std::string> lines;
    std::map<std::pair<std::int64_t, std::string>, double> measured;
    for (const RecommendationRecord& r : results.recommendations) {
      if (r.Str(Q::kSource) == "measured") {
        measured[{r.Int(Q::kN), r.Str(Q::kPolicy)}] = r.Float(Q::kRecommendedSlots);
      }
    }
    for (const RecommendationRecord& r : results.recommendations) {
      if (r.Str(Q::kSource) != "model") continue;
      std::string& line = lines[r.Int(Q::kN)];
      if (line.empty()) line = absl::StrFormat("    N=%-12s", FormatCount(r.Float(Q::kN)));
      const auto it = measured.find({r.Int(Q::kN), r.Str(Q::kPolicy)});
      absl::StrAppendFormat(&line, " %s %12s slots (measured %s)", r.Str(Q::kPolicy),
                            FormatCount(r.Float(Q::kRecommendedSlots)),
                            it == measured.end() ? "-" : FormatCount(it->second));
    }
    for (const auto& [n, line] : lines) out += line + "\n";
    out += Wrap("(for any other N: bazel run //experiments:demand_model -- --n=...)", width, "  ",
                "  ");
  }
  using S = schema::SizingFit::Field;
  for (const FitRecord& fit : results.sizing_fits) {
    out += Wrap(absl::StrFormat(
                    "%s: straight line over N=%s..%s (descriptive): demand = %s + %.2f%s slots per "
                    "entry x N%s; measured N within %.1f%% of it",
                    fit.Str(S::kPolicy), FormatCount(fit.Float(S::kNMin)),
                    FormatCount(fit.Float(S::kNMax)), FormatCount(fit.Float(S::kFixedSlots)),
                    fit.Float(S::kSlotsPerEntry),
                    fit.IsNull(S::kSlotsPerEntryStderr)
                        ? ""
                        : absl::StrFormat(" (+/- %.2f)", fit.Float(S::kSlotsPerEntryStderr)),
                    fit.IsNull(S::kRSquared) ? ""
                                             : absl::StrFormat(", R^2 %.4f", fit.Float(S::kRSquared)),
                    fit.Float(S::kMaxDeviationPct)),
                width, "  ", "    ");
  }
  using P = schema::PoolCapacity::Field;
  if (!results.capacities.empty()) {
    out += "  largest N without fallback (measured):\n";
    for (const CapacityRecord& c : results.capacities) {
      absl::StrAppendFormat(&out, "    pool %12s slots  %-13s %s%s keys\n",
                            FormatCount(c.Float(P::kPoolSlots)), c.Str(P::kPolicy),
                            c.Bool(P::kLowerBound) ? ">= " : "", FormatCount(c.Float(P::kLargestN)));
    }
  }
  return out;
}

}  // namespace experiments::pool_exhaustion
