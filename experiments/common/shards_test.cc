// Sharding is deterministic and complete, and a merge refuses shards that do not make one run.
#include "experiments/common/shards.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "experiments/common/run_metadata.h"
#include "gtest/gtest.h"

namespace experiments {
namespace {

using M = schema::RunMetadata::Field;

TEST(ShardsTest, ParsesIOfN) {
  EXPECT_EQ(ParseShard("0/4"), (Shard{0, 4}));
  EXPECT_EQ(ParseShard("3/4"), (Shard{3, 4}));
  for (const char* bad : {"", "4/4", "-1/4", "1/0", "1", "1/2/3", "a/b", "1/100001"}) {
    EXPECT_FALSE(ParseShard(bad).has_value()) << bad;
  }
  EXPECT_EQ(ShardName({2, 7}), "2/7");
}

// The assignment before it kept its loads in a heap: a linear scan for the least loaded shard.
std::vector<int> ScanAssignment(const std::vector<std::uint64_t>& costs, int count) {
  std::vector<std::size_t> order(costs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return costs[a] > costs[b]; });
  std::vector<std::uint64_t> load(count, 0);
  std::vector<int> owner(costs.size());
  for (std::size_t item : order) {
    const int least = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    load[least] += costs[item];
    owner[item] = least;
  }
  return owner;
}

TEST(ShardsTest, LongestFirstToTheLeastLoadedShardTiesToTheLowest) {
  EXPECT_EQ(AssignShards({5, 4, 3, 3, 3}, 2), (std::vector<int>{0, 1, 1, 0, 1}));
  EXPECT_EQ(AssignShards({1, 1, 1, 1}, 2), (std::vector<int>{0, 1, 0, 1}));
  EXPECT_EQ(AssignShards({7, 7}, 5), (std::vector<int>{0, 1}));  // more shards than items
  // The same assignment as a plain scan, on costs with many ties (a shard of an older run and of
  // this one measure the same cells).
  std::mt19937_64 random(42);
  for (int count : {1, 2, 3, 7, 64}) {
    std::vector<std::uint64_t> costs(500);
    for (std::uint64_t& c : costs) c = random() % 20;
    EXPECT_EQ(AssignShards(costs, count), ScanAssignment(costs, count)) << count;
  }
}

TEST(ShardsTest, EveryItemInExactlyOneShard) {
  const std::vector<std::uint64_t> costs = {9, 1, 4, 4, 0, 12, 3};
  std::vector<int> seen(costs.size(), 0);
  for (int i = 0; i < 3; ++i) {
    const std::vector<std::size_t> items = ItemsOf(Shard{i, 3}, costs);
    EXPECT_TRUE(std::is_sorted(items.begin(), items.end()));  // in plan order
    for (std::size_t item : items) ++seen[item];
  }
  EXPECT_EQ(seen, std::vector<int>(costs.size(), 1));
  EXPECT_EQ(ItemsOf(std::nullopt, costs).size(), costs.size());
}

MetadataRecord ShardMetadataFor(const std::string& shard, const std::string& commit = "c1") {
  char arg[] = "test";
  char* argv[] = {arg};
  MetadataRecord m = NewRunMetadata("memory_timeline", "default", "r", 1, argv,
                                    {{"n", "1000"}, {"jobs", 2}, {"shard", shard}});
  // The process malloc set, not detected: under a sanitizer it is the sanitizer's.
  m.Set(M::kComplete, true).Set(M::kGitCommit, commit).Set(M::kHost, "h" + shard.substr(0, 1))
      .Set(M::kProcessMalloc, "glibc 2.36");
  return m;
}

std::string Refusal(const std::vector<ShardMetadata>& shards) {
  try {
    CheckShardSet(shards, {"jobs"});
  } catch (const MergeError& error) {
    return error.what();
  }
  return "accepted";
}

TEST(ShardsTest, CheckShardSetRefusesWhatIsNotOneRun) {
  const ShardMetadata a{"a", ShardMetadataFor("0/2")}, b{"b", ShardMetadataFor("1/2")};
  EXPECT_EQ(CheckShardSet({a, b}, {"jobs"}), 2);
  EXPECT_EQ(Refusal({a}), "shard 1/2 is missing");
  EXPECT_EQ(Refusal({a, {"a2", a.metadata}}), "shard 0/2 given twice: a and a2");
  EXPECT_EQ(Refusal({a, {"b", ShardMetadataFor("1/2", "c2")}}),
            "b: measured at commit c2, a at c1");
  ShardMetadata other = b;
  nlohmann::ordered_json config = other.metadata.Object(M::kConfig);
  config["jobs"] = 64;  // a host setting: may differ
  other.metadata.Set(M::kConfig, config);
  EXPECT_EQ(Refusal({a, other}), "accepted");
  config["n"] = "2000";
  other.metadata.Set(M::kConfig, config);
  EXPECT_NE(Refusal({a, other}).find("b: measured with other settings than a (--n:"),
            std::string::npos);
  ShardMetadata incomplete = b;
  incomplete.metadata.Set(M::kComplete, false);
  EXPECT_NE(Refusal({a, incomplete}).find("b: shard 1/2 is incomplete"), std::string::npos);
  ShardMetadata unsharded = b;
  config = b.metadata.Object(M::kConfig);
  config["shard"] = "";
  unsharded.metadata.Set(M::kConfig, config);
  EXPECT_EQ(Refusal({a, unsharded}), "b: not a shard of a sharded run (no --shard)");
  ShardMetadata experiment = b;
  experiment.metadata.Set(M::kExperiment, "persistent_churn");
  EXPECT_EQ(Refusal({a, experiment}), "b: a persistent_churn run, a a memory_timeline run");

  ShardMetadata jemalloc = b;
  jemalloc.metadata.Set(M::kProcessMalloc, "jemalloc 5.3.0");
  EXPECT_NE(Refusal({a, jemalloc}).find("b: measured under jemalloc 5.3.0"), std::string::npos);
  ShardMetadata newer_glibc = b;  // the same malloc, another node's package version: accepted
  newer_glibc.metadata.Set(M::kProcessMalloc, "glibc 9.99");
  EXPECT_EQ(Refusal({a, newer_glibc}), "accepted");
  ShardMetadata extra_setting = b;  // a setting only one shard has is a difference too
  config = b.metadata.Object(M::kConfig);
  config["extra"] = 1;
  extra_setting.metadata.Set(M::kConfig, config);
  EXPECT_NE(Refusal({extra_setting, a}).find("a: measured with other settings than b (--extra:"),
            std::string::npos);

  std::vector<std::string> notes;
  ShardMetadata with_argv = a;
  with_argv.metadata.Set(M::kArgv, std::vector<std::string>{"prog", "--n=1K", "--shard=0/2",
                                                            "--out", "/x/s0", "--out=/y"});
  const MetadataRecord merged = MergedMetadata({with_argv, b}, {"h0", "h1"}, notes);
  EXPECT_EQ(merged.StrList(M::kArgv), (std::vector<std::string>{"prog", "--n=1K"}));
  EXPECT_EQ(merged.Object(M::kConfig)["shard"], "");
  EXPECT_EQ(merged.Str(M::kHost), "mixed: h0,h1");
  EXPECT_EQ(merged.Int(M::kSessions), 2);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("2 host classes"), std::string::npos);
}

}  // namespace
}  // namespace experiments
