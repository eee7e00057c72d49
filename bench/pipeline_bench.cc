// End-to-end pipeline throughput: WAL -> EventProcessor -> file sink (JSON,
// fsync'ed acknowledgements), against the WAL decode rate of the same
// segment files in the same process (the baseline: the pipeline can never
// be faster than reading its input) and, for output on disk, the disk's own
// write rate (BM_DiskWrite).
//
//   build/bench/pipeline_bench --benchmark_counters_tabular=true
//
// Environment: PIPELINE_BENCH_EVENTS (default 1000000 changes, 200-byte
// values, 5 changes per transaction, 10% aborted).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "heliosdb/cdc/processor.h"
#include "heliosdb/cdc/wal.h"
#include "sink/file_sink.h"
#include "wal/generator.h"

namespace heliosdb::cdc {
namespace {

struct Fixture {
  std::string dir;
  uint64_t changes = 0;
  uint64_t committed = 0;
  uint64_t wal_bytes = 0;

  Fixture() {
    dir = (std::filesystem::temp_directory_path() / "heliosdb-cdc-pipeline-bench").string();
    std::filesystem::remove_all(dir);
    const char* env = std::getenv("PIPELINE_BENCH_EVENTS");
    wal::GeneratorOptions o;
    o.dir = dir + "/wal";
    o.database = "bench";
    o.events = env ? std::strtoull(env, nullptr, 10) : 1000000;
    o.tables = {"users", "orders", "payments", "inventory"};
    o.txn_size = 5;
    o.abort_ratio = 0.1;
    o.value_bytes = 200;
    o.seed = 7;
    o.sync_policy = WalSyncPolicy::kNever;
    auto summary = wal::generate_wal(o);
    if (!summary) {
      std::fprintf(stderr, "generate: %s\n", summary.status().to_string().c_str());
      std::exit(1);
    }
    changes = summary->changes;
    for (const auto& s : *list_wal_segments(o.dir)) wal_bytes += s.size_bytes;
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// Baseline: decode every entry of the same files with the WalReader.
void BM_WalDecode(benchmark::State& state) {
  Fixture& f = fixture();
  uint64_t entries = 0;
  for (auto _ : state) {
    WalReaderOptions o;
    o.dir = f.dir + "/wal";
    auto reader = WalReader::open(o);
    WalEntry e;
    while (true) {
      auto r = (*reader)->next(e);
      if (!r || *r == WalReadStatus::kEndOfLog) break;
      benchmark::DoNotOptimize(e.key.data());
      ++entries;
    }
  }
  state.counters["entries/s"] =
      benchmark::Counter(static_cast<double>(entries), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(f.wal_bytes * state.iterations()));
}

// Second baseline, for the output on disk: what the disk itself takes,
// writing 512 MiB to the same directory in 256 KiB write()s with one
// fdatasync at the end (no pipeline, no per-event fsync). A durable file
// sink cannot beat this rate of output bytes.
void BM_DiskWrite(benchmark::State& state) {
  Fixture& f = fixture();
  const std::string path = f.dir + "/disk-baseline.bin";
  std::string chunk(256 * 1024, 'x');
  constexpr size_t kTotal = 512u * 1024 * 1024;
  for (auto _ : state) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      state.SkipWithError("open failed");
      break;
    }
    for (size_t done = 0; done < kTotal; done += chunk.size()) {
      if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) {
        state.SkipWithError("write failed");
        break;
      }
    }
    ::fdatasync(fd);
    ::close(fd);
    state.PauseTiming();
    std::filesystem::remove(path);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(kTotal * state.iterations()));
}

// The pipeline: all committed changes to a JSON-lines file, fsync'ed.
void BM_PipelineToFile(benchmark::State& state) {
  Fixture& f = fixture();
  spdlog::set_level(spdlog::level::warn);
  uint64_t delivered = 0;
  uint64_t output_bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove_all(f.dir + "/ckpt");
    // range(2) == 1: output on tmpfs, where fsync is free, to measure the
    // pipeline itself rather than the disk.
    std::string out =
        state.range(2) ? "/dev/shm/heliosdb-cdc-bench-out.jsonl" : f.dir + "/out.jsonl";
    std::filesystem::remove(out);
    auto config = CdcConfig::builder()
                      .wal_path(f.dir + "/wal")
                      .database("bench")
                      .checkpoint_dir(f.dir + "/ckpt")
                      .batch_size(static_cast<uint32_t>(state.range(0)))
                      .buffer_size(static_cast<uint32_t>(state.range(1)))
                      .enable_metrics(false)
                      .build();
    FileSinkOptions so;
    so.path = out;
    EventProcessor p(*config, make_file_sink(so));
    p.handle_signals(false);
    state.ResumeTiming();
    Status st = p.run_once();
    if (!st.is_ok()) state.SkipWithError(st.to_string().c_str());
    delivered += p.stats().events_acknowledged.load();
    output_bytes += std::filesystem::file_size(out);
    std::filesystem::remove(out);
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(delivered), benchmark::Counter::kIsRate);
  // JSON lines written per second, to compare with BM_DiskWrite.
  state.counters["out_MB/s"] =
      benchmark::Counter(static_cast<double>(output_bytes) / 1e6, benchmark::Counter::kIsRate);
  state.counters["peak_rss_MiB"] = static_cast<double>(peak_rss_kb()) / 1024.0;
  state.SetBytesProcessed(static_cast<int64_t>(f.wal_bytes * state.iterations()));
}

BENCHMARK(BM_WalDecode)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_DiskWrite)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_PipelineToFile)
    ->ArgNames({"batch", "buffer", "tmpfs"})
    ->Args({100, 10000, 0})  // the seed's defaults, output on disk
    ->Args({100, 10000, 1})  // the seed's defaults, output on tmpfs
    ->Args({1000, 100000, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace
}  // namespace heliosdb::cdc

BENCHMARK_MAIN();
