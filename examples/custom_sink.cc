// A custom sink (printing_sink.h: implement EventSink's send/flush/close/name,
// the seed's interface) handed to an EventProcessor. It prints one line per
// change and counts changes per table.
//
//   custom_sink_example WAL_DIR DATABASE CHECKPOINT_DIR
#include <heliosdb/cdc/processor.h>

#include <cstdio>
#include <memory>

#include "printing_sink.h"

namespace cdc = heliosdb::cdc;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s WAL_DIR DATABASE CHECKPOINT_DIR\n", argv[0]);
    return 2;
  }
  auto config = cdc::CdcConfig::builder()
                    .wal_path(argv[1])
                    .database(argv[2])
                    .checkpoint_dir(argv[3])
                    .enable_metrics(false)
                    .build();
  if (!config) {
    std::fprintf(stderr, "bad config: %s\n", config.status().message().c_str());
    return 2;
  }
  cdc::EventProcessor processor(*config, std::make_unique<PrintingSink>());
  cdc::Status st = processor.run_once();  // drain what the WAL holds now
  if (!st.is_ok()) {
    std::fprintf(stderr, "%s\n", st.to_string().c_str());
    return 1;
  }
  return 0;
}
