// The example's custom sink in a long-running program embedding the library,
// for the conformance suite's SIGKILL scenario (the daemon cannot load a
// custom sink). Each line is "<event_id> " and PrintingSink's line.
//
//   conformance_custom_sink WAL_DIR DATABASE CHECKPOINT_DIR OUT_FILE [--once]
//
// Without --once it runs until killed; with it, it delivers what the WAL holds
// and exits 0.
#include <cstdio>
#include <cstring>
#include <memory>

#include "heliosdb/cdc/processor.h"
#include "printing_sink_harness.h"

namespace cdc = heliosdb::cdc;

int main(int argc, char** argv) {
  if (argc != 5 && !(argc == 6 && std::strcmp(argv[5], "--once") == 0)) {
    std::fprintf(stderr, "usage: %s WAL_DIR DATABASE CHECKPOINT_DIR OUT_FILE [--once]\n", argv[0]);
    return 2;
  }
  std::FILE* out = std::fopen(argv[4], "a");
  if (!out) {
    std::perror(argv[4]);
    return 1;
  }
  auto config = cdc::CdcConfig::builder()
                    .wal_path(argv[1])
                    .database(argv[2])
                    .checkpoint_dir(argv[3])
                    .batch_size(50)
                    .checkpoint_interval(100)
                    .poll_interval_ms(20)
                    .enable_metrics(false)
                    .build();
  if (!config) {
    std::fprintf(stderr, "bad config: %s\n", config.status().message().c_str());
    return 2;
  }
  cdc::EventProcessor processor(*config,
                                std::make_unique<cdc::conformance::IdentifiedPrintingSink>(out));
  cdc::Status st = argc == 6 ? processor.run_once() : processor.start();
  if (!st.is_ok()) {
    std::fprintf(stderr, "%s\n", st.to_string().c_str());
    return 1;
  }
  return 0;
}
