// WAL decode throughput over page-cached segment files, against plain read()
// of the same files in the same run (issue target: decode >= 50% of raw read
// bandwidth).
//
//   ninja -C build wal_decode_bench && build/wal_decode_bench --benchmark_min_time=2
//
// Each benchmark iteration reads the whole WAL twice: once with read() into a
// 1 MiB buffer (the baseline, timed by hand) and once through WalReader
// (decode: framing, CRC32C of every fragment, entry parsing, sequence checks).
// Counters: decode_MBps, read_MBps (wall clock), decode_vs_read (wall-clock
// ratio), decode_vs_read_cpu (ratio of thread CPU times, user + system: the
// steadier figure on a shared machine), entries_per_s.
#include <fcntl.h>
#include <unistd.h>

#include <time.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "common/crc32c.h"
#include "heliosdb/cdc/wal.h"
#include "wal/generator.h"

namespace {

using namespace heliosdb::cdc;
using Clock = std::chrono::steady_clock;

// CPU time of this thread (user + system: read()'s kernel copy counts too).
double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Dataset {
  std::string dir;
  std::vector<std::string> files;
  uint64_t bytes = 0;
  uint64_t entries = 0;
};

std::string g_root;

void cleanup() {
  if (!g_root.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(g_root, ec);
  }
}

const Dataset& dataset(uint32_t value_bytes) {
  static std::map<uint32_t, Dataset> sets;
  auto it = sets.find(value_bytes);
  if (it != sets.end()) return it->second;
  if (g_root.empty()) {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/heliosdb-wal-bench-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) std::abort();
    g_root = buf.data();
    std::atexit(cleanup);
  }
  Dataset d;
  d.dir = g_root + "/v" + std::to_string(value_bytes);
  wal::GeneratorOptions o;
  o.dir = d.dir;
  o.value_bytes = value_bytes;
  // About 192 MiB of WAL whatever the value size, in 64 MiB segments.
  o.events = (192ull << 20) / (value_bytes + 60) * 2 / 3;
  o.sync_policy = WalSyncPolicy::kNever;
  o.start_time_ms = 1764000000000;
  auto sum = wal::generate_wal(o);
  if (!sum) {
    std::fprintf(stderr, "generate: %s\n", sum.status().to_string().c_str());
    std::abort();
  }
  d.entries = sum->entries;
  auto segs = list_wal_segments(d.dir);
  if (!segs) std::abort();
  for (const auto& s : *segs) {
    d.files.push_back(s.path);
    d.bytes += s.size_bytes;
  }
  return sets.emplace(value_bytes, std::move(d)).first->second;
}

// Plain read() of every file with a 1 MiB buffer; returns bytes read.
uint64_t raw_read(const Dataset& d, char* buf) {
  uint64_t total = 0;
  for (const auto& f : d.files) {
    int fd = ::open(f.c_str(), O_RDONLY);
    ssize_t n;
    while ((n = ::read(fd, buf, 1 << 20)) > 0) total += static_cast<uint64_t>(n);
    ::close(fd);
  }
  return total;
}

uint64_t decode_all(const Dataset& d, uint64_t* sink) {
  WalReaderOptions o;
  o.dir = d.dir;
  auto reader = WalReader::open(o);
  if (!reader) std::abort();
  WalEntry e;
  uint64_t n = 0, acc = 0;
  for (;;) {
    auto st = (*reader)->next(e);
    if (!st) {
      std::fprintf(stderr, "decode: %s\n", st.status().to_string().c_str());
      std::abort();
    }
    if (*st == WalReadStatus::kEndOfLog) break;
    acc += e.key.size() + (e.value ? e.value->size() : 0) + e.table.size();
    ++n;
  }
  *sink += acc;
  return n;
}

void BM_WalDecodeVsRead(benchmark::State& state) {
  const Dataset& d = dataset(static_cast<uint32_t>(state.range(0)));
  std::unique_ptr<char[]> buf(new char[1 << 20]);
  raw_read(d, buf.get());  // warm the page cache
  double read_secs = 0, decode_secs = 0, read_cpu = 0, decode_cpu = 0;
  uint64_t sink = 0, entries = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto t0 = Clock::now();
    double c0 = thread_cpu_seconds();
    benchmark::DoNotOptimize(raw_read(d, buf.get()));
    read_cpu += thread_cpu_seconds() - c0;
    read_secs += std::chrono::duration<double>(Clock::now() - t0).count();
    state.ResumeTiming();
    auto t1 = Clock::now();
    double c1 = thread_cpu_seconds();
    entries = decode_all(d, &sink);
    decode_cpu += thread_cpu_seconds() - c1;
    decode_secs += std::chrono::duration<double>(Clock::now() - t1).count();
  }
  benchmark::DoNotOptimize(sink);
  if (entries != d.entries) state.SkipWithError("entry count mismatch");
  double iters = static_cast<double>(state.iterations());
  double mb = static_cast<double>(d.bytes) / 1e6;
  state.counters["wal_MB"] = mb;
  state.counters["entries"] = static_cast<double>(d.entries);
  state.counters["read_MBps"] = mb * iters / read_secs;
  state.counters["decode_MBps"] = mb * iters / decode_secs;
  state.counters["decode_vs_read"] = read_secs / decode_secs;    // wall clock
  state.counters["decode_vs_read_cpu"] = read_cpu / decode_cpu;  // thread CPU time
  state.counters["entries_per_s"] = static_cast<double>(d.entries) * iters / decode_secs;
  state.counters["crc32c_hw"] = crc32c::hardware_accelerated() ? 1 : 0;
  state.SetBytesProcessed(static_cast<int64_t>(d.bytes * state.iterations()));
  state.SetItemsProcessed(static_cast<int64_t>(d.entries * state.iterations()));
}
BENCHMARK(BM_WalDecodeVsRead)
    ->ArgName("value_bytes")
    ->Arg(50)
    ->Arg(200)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_Crc32c(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  uint32_t c = 0;
  for (auto _ : state) {
    c = crc32c::extend(c, data.data(), data.size());
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(static_cast<int64_t>(data.size()) * state.iterations());
}
BENCHMARK(BM_Crc32c)->Arg(256)->Arg(32768);

void BM_Crc32cPortable(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  uint32_t c = 0;
  for (auto _ : state) {
    c = crc32c::extend_portable(c, data.data(), data.size());
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(static_cast<int64_t>(data.size()) * state.iterations());
}
BENCHMARK(BM_Crc32cPortable)->Arg(256)->Arg(32768);

}  // namespace

BENCHMARK_MAIN();
