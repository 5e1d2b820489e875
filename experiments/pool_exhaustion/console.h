// experiments/pool_exhaustion/console.h: the study's records as text for a terminal: the
// side-by-side table, the findings and the sizing, wrapped to `width` columns. Renders records
// only; it computes no number that is not in them (except the display's own ratios).
#ifndef HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_CONSOLE_H_
#define HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_CONSOLE_H_

#include <string>
#include <vector>

#include "experiments/pool_exhaustion/records.h"

namespace experiments::pool_exhaustion {

// Our grid cells next to the reference study's figures for the same (N, pool) cells.
std::string FormatTable(const std::vector<CellRecord>& rows,
                        const std::vector<ReferenceRecord>& reference);

// One block per finding (verdict, criterion, summary, one line per cell), then a tally.
std::string FormatFindings(const std::vector<FindingRecord>& findings, int width);

// Finding 4 per fallback and page policy (finding4_ratio records), one row each, with the study's
// ratios beside them; empty without records.
std::string FormatFinding4Map(const std::vector<Finding4Record>& map);

// Recommended pools, the fitted line, and the largest N each pool serves.
std::string FormatSizing(const Results& results, int width);

}  // namespace experiments::pool_exhaustion

#endif  // HAMT_ALLOC_EXPERIMENTS_POOL_EXHAUSTION_CONSOLE_H_
