#include "experiments/common/records.h"

#include <cmath>
#include <limits>
#include <string>

#include "experiments/schema/schema.h"
#include "gtest/gtest.h"

namespace experiments {
namespace {

using Cap = schema::PoolCapacity;
using F = Cap::Field;
using Ref = schema::ReferenceRow;

Record<Cap> Capacity(std::int64_t pool, std::int64_t largest) {
  Record<Cap> r;
  r.Set(F::kPolicy, "bump_pool")
      .Set(F::kFallback, "malloc")
      .Set(F::kPoolSlots, pool)
      .Set(F::kLargestN, largest)
      .Set(F::kLowerBound, false)
      .Set(F::kSearchLimit, 1000);
  return r;
}

TEST(RecordsTest, SetChecksTheSchema) {
  Record<Cap> r;
  EXPECT_THROW(r.Set(F::kPolicy, "arena"), SchemaError);       // not an allowed value
  EXPECT_THROW(r.Set(F::kPoolSlots, 1.5), SchemaError);        // not a whole number
  EXPECT_THROW(r.SetNull(F::kLargestN), SchemaError);          // not nullable
  EXPECT_THROW(r.Set(F::kLowerBound, "yes"), SchemaError);     // not a bool
  Record<schema::AllocationCost> cost;
  EXPECT_THROW(cost.Set(schema::AllocationCost::Field::kNsPerAllocation,
                        std::numeric_limits<double>::quiet_NaN()),
               SchemaError);
  EXPECT_THROW(cost.Set(schema::AllocationCost::Field::kNsReps,
                        std::vector<double>{1.0, std::numeric_limits<double>::infinity()}),
               SchemaError);
}

TEST(RecordsTest, AnUnsetFieldIsNeverWritten) {
  Record<Cap> r;
  r.Set(F::kPolicy, "bump_pool");
  try {
    r.CsvFields();
    FAIL() << "an incomplete record was written";
  } catch (const SchemaError& error) {
    EXPECT_NE(std::string(error.what()).find("pool_capacity.fallback: never set"),
              std::string::npos)
        << error.what();
  }
}

TEST(RecordsTest, CsvRoundTripIsExact) {
  Record<schema::AllocationCost> cost;
  using C = schema::AllocationCost::Field;
  cost.Set(C::kPattern, "grow")
      .Set(C::kServedBy, "bump")
      .Set(C::kFallback, "malloc")
      .Set(C::kBlockBytes, 136)
      .Set(C::kCount, 200000)
      .Set(C::kNsPerAllocation, 0.1 + 0.2)
      .Set(C::kNsReps, std::vector<double>{0.1 + 0.2, 1e-7, 12345.678});
  const std::string csv = CsvDocument(std::vector{cost});
  const auto back = ParseCsvDocument<schema::AllocationCost>(csv);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0], cost);
  EXPECT_EQ(back[0].Float(C::kNsPerAllocation), 0.1 + 0.2);
}

TEST(RecordsTest, JsonKeepsIntegersIntegers) {
  const nlohmann::ordered_json json = Capacity(65536, 2944).Json();
  EXPECT_TRUE(json["pool_slots"].is_number_integer());
  EXPECT_EQ(json.dump().find("65536.0"), std::string::npos);
  EXPECT_EQ(Record<Cap>::FromJson(json, "x"), Capacity(65536, 2944));
}

TEST(RecordsTest, JsonReaderNamesTheField) {
  nlohmann::ordered_json json = Capacity(65536, 2944).Json();
  json["largest_n"] = 2944.5;
  try {
    Record<Cap>::FromJson(json, "capacities[3]");
    FAIL();
  } catch (const SchemaError& error) {
    EXPECT_NE(std::string(error.what()).find("capacities[3].largest_n"), std::string::npos)
        << error.what();
  }
  json = Capacity(1, 2).Json();
  json["extra"] = 1;
  EXPECT_THROW(Record<Cap>::FromJson(json, "x"), SchemaError);
  json = Capacity(1, 2).Json();
  json.erase("policy");
  EXPECT_THROW(Record<Cap>::FromJson(json, "x"), SchemaError);
}

std::string ErrorOf(const std::string& csv) {
  try {
    ParseCsvDocument<Cap>(csv);
  } catch (const SchemaError& error) {
    return error.what();
  }
  return "";
}

TEST(RecordsTest, CsvReaderRejectsDamageNamingTheLine) {
  const std::string good = CsvDocument(std::vector{Capacity(1, 2), Capacity(3, 4)});
  EXPECT_EQ(ErrorOf(good), "");
  // A number cut off by a crash: no newline at the end.
  EXPECT_EQ(ErrorOf(good.substr(0, good.size() - 3)).rfind("line 3: no newline", 0), 0u)
      << ErrorOf(good.substr(0, good.size() - 3));
  // The same cell twice.
  const std::string twice = CsvDocument(std::vector{Capacity(1, 2), Capacity(1, 2)});
  EXPECT_EQ(ErrorOf(twice).rfind("line 3: duplicate of line 2", 0), 0u) << ErrorOf(twice);
  // A non-finite number, an unknown column, a missing field.
  std::string bad = good;
  bad.replace(bad.find(",2,"), 3, ",x,");
  EXPECT_EQ(ErrorOf(bad).rfind("line 2: column largest_n: 'x' is not a whole number", 0), 0u)
      << ErrorOf(bad);
  EXPECT_NE(ErrorOf("policy,fallback,pool_slots,largest_n,lower_bound,search_limit,extra\n")
                .find("unknown column 'extra'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(good + "bump_pool,malloc,5\n").find("line 4: expected 6 fields, got 3"),
            std::string::npos);
}

TEST(RecordsTest, NullableFieldsAreEmptyInCsvAndNullInJson) {
  Record<Ref> r;
  using G = Ref::Field;
  r.Set(G::kN, 1000).Set(G::kPoolSlots, 65536).Set(G::kUtilizationPct, 51.7);
  for (G g : {G::kSlotsDemanded, G::kFallbackPct, G::kTotalAllocations, G::kFallbackAllocations,
              G::kInsertNsPerOp, G::kQueryNsPerOp}) {
    r.SetNull(g);
  }
  EXPECT_EQ(CsvLine(r.CsvFields()), "1000,65536,,51.7,,,,,\n");
  EXPECT_TRUE(r.Json()["fallback_pct"].is_null());
  EXPECT_TRUE(r.IsNull(G::kInsertNsPerOp));
}

}  // namespace
}  // namespace experiments
