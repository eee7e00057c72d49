// Per-event cost of EventFilter::apply (decision + transforms).
//
// The target filter is the "5-rule filter with one regex" plus an
// add_metadata transform; BM_EmptyFilter is the baseline measured in the same
// run. Each iteration does what the pipeline does per event (clear metadata,
// apply) on a rotating pool of events with varied tables and operations, so
// branch prediction and the regex see realistic input.
//
//   ninja -C build filter_bench && build/filter_bench --benchmark_repetitions=5 \
//       --benchmark_report_aggregates_only=true
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "heliosdb/cdc/filter.h"

namespace heliosdb::cdc {
namespace {

constexpr size_t kPool = 64;  // power of two

std::vector<CdcEvent> make_pool() {
  const char* tables[] = {"users",       "orders",        "user_profiles", "logs",
                          "audit_trail", "user_sessions", "inventory",     "payments"};
  const char* databases[] = {"production", "production", "production", "staging"};
  const OperationType ops[] = {OperationType::Insert, OperationType::Update, OperationType::Insert,
                               OperationType::Delete};
  std::vector<CdcEvent> pool(kPool);
  for (size_t i = 0; i < kPool; ++i) {
    CdcEvent& e = pool[i];
    e.database = databases[i % 4];
    e.table = tables[(i * 5) % 8];
    e.operation = ops[(i / 3) % 4];
    e.key = "user" + std::to_string(100000 + i * 7919);
    e.value = std::string(120, 'v');
    e.old_value = std::string(120, 'o');
    e.sequence = i;
  }
  return pool;
}

// `pattern` "user_.*" is decided by the literal fast path; "user_[a-z]+"
// (same answers on this pool) always runs RE2.
EventFilter five_rule_filter(const char* pattern = "user_.*") {
  using FC = FilterCondition;
  using FR = FilterRule;
  return EventFilter()
      .add_rule(FR::include(FC::table("users")))
      .add_rule(FR::include(FC::table("orders")))
      .add_rule(FR::include(FC::all_of({FC::database("production"), *FC::table_pattern(pattern)})))
      .add_rule(FR::exclude(FC::operation(OperationType::Delete)))
      .add_rule(FR::exclude(FC::key_prefix("tmp:")))
      .add_transform(TransformRule::add_metadata("source", "heliosdb-prod"));
}

void run(benchmark::State& state, const EventFilter& filter, bool restore_key) {
  std::vector<CdcEvent> pool = make_pool();
  std::vector<std::string> keys;
  for (const auto& e : pool) keys.push_back(e.key);
  size_t i = 0, kept = 0;
  for (auto _ : state) {
    CdcEvent& e = pool[i & (kPool - 1)];
    e.metadata.clear();  // the pipeline reuses event slots the same way
    if (restore_key) e.key.assign(keys[i & (kPool - 1)]);
    kept += filter.apply(e);
    benchmark::DoNotOptimize(e);
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["kept_ratio"] =
      benchmark::Counter(static_cast<double>(kept) / static_cast<double>(state.iterations()));
}

void BM_EmptyFilter(benchmark::State& state) { run(state, EventFilter(), false); }
BENCHMARK(BM_EmptyFilter);

// The target: 5 rules (one RE2 pattern) + add_metadata.
void BM_FiveRulesOneRegexPlusMetadata(benchmark::State& state) {
  run(state, five_rule_filter(), false);
}
BENCHMARK(BM_FiveRulesOneRegexPlusMetadata);

// The same with a pattern that needs the RE2 engine.
void BM_FiveRulesOneRe2RegexPlusMetadata(benchmark::State& state) {
  run(state, five_rule_filter("user_[a-z]+"), false);
}
BENCHMARK(BM_FiveRulesOneRe2RegexPlusMetadata);

void BM_FiveRulesOneRegexDecisionOnly(benchmark::State& state) {
  EventFilter f = five_rule_filter();
  std::vector<CdcEvent> pool = make_pool();
  size_t i = 0, kept = 0;
  for (auto _ : state) {
    kept += f.matches(pool[i++ & (kPool - 1)]);
  }
  benchmark::DoNotOptimize(kept);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_FiveRulesOneRegexDecisionOnly);

void BM_RegexOnly(benchmark::State& state) {
  EventFilter f =
      EventFilter().add_rule(FilterRule::include(*FilterCondition::table_pattern("user_.*")));
  std::vector<CdcEvent> pool = make_pool();
  size_t i = 0, kept = 0;
  for (auto _ : state) kept += f.matches(pool[i++ & (kPool - 1)]);
  benchmark::DoNotOptimize(kept);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_RegexOnly);

void BM_MaskValue(benchmark::State& state) {
  run(state, EventFilter().add_transform(TransformRule::mask_value()), false);
}
BENCHMARK(BM_MaskValue);

// Key restored each iteration in both this and the baseline below.
void BM_KeyRestoreBaseline(benchmark::State& state) { run(state, EventFilter(), true); }
BENCHMARK(BM_KeyRestoreBaseline);

void BM_HashKeyHmacSha256(benchmark::State& state) {
  auto rule = TransformRule::hash_key("0123456789abcdef0123456789abcdef");
  run(state, EventFilter().add_transform(*rule), true);
}
BENCHMARK(BM_HashKeyHmacSha256);

void BM_HashKeyUnkeyedSha256(benchmark::State& state) {
  run(state, EventFilter().add_transform(TransformRule::hash_key_unkeyed_sha256()), true);
}
BENCHMARK(BM_HashKeyUnkeyedSha256);

}  // namespace
}  // namespace heliosdb::cdc

BENCHMARK_MAIN();
