#include "experiments/pool_exhaustion/conclude.h"

#include "experiments/pool_exhaustion/finding4_map.h"
#include "experiments/pool_exhaustion/findings.h"
#include "experiments/pool_exhaustion/sizing.h"

namespace experiments::pool_exhaustion {

void Conclude(Results& results, const Config& config, const Predictor& predictor,
              const Reference& reference) {
  results.sizing_fits.clear();
  for (Policy policy : kAllPolicies) {
    if (auto fit = FitDemand(results.rows, policy)) results.sizing_fits.push_back(*fit);
  }
  results.recommendations = Recommend(results.rows, config.headroom_pct, predictor);
  results.model_curve = ModelCurve(config.ns, predictor);
  results.finding4_map = Finding4Map(results.rows, reference.cells);
  results.findings = JudgeFindings(results, reference);
}

}  // namespace experiments::pool_exhaustion
