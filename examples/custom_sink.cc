// A custom sink: implement EventSink's send/flush/close/name (the seed's
// interface) and hand it to an EventProcessor. This one prints one line per
// change and counts changes per table.
//
//   custom_sink_example WAL_DIR DATABASE CHECKPOINT_DIR
#include <heliosdb/cdc/processor.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>

namespace cdc = heliosdb::cdc;

class PrintingSink : public cdc::EventSink {
 public:
  cdc::Status send(const cdc::CdcEvent& event) override {
    std::printf("%s %s.%s key=%zu bytes\n",
                std::string(cdc::operation_name(event.operation)).c_str(), event.database.c_str(),
                event.table.c_str(), event.key.size());
    ++per_table_[event.table];
    return cdc::Status::ok();
  }
  // Nothing is buffered: every send() is already written to stdout.
  cdc::Status flush() override {
    std::fflush(stdout);
    return cdc::Status::ok();
  }
  cdc::Status close() override {
    for (const auto& [table, count] : per_table_)
      std::printf("table %s: %zu\n", table.c_str(), count);
    return flush();
  }
  std::string_view name() const override { return "printing"; }

 private:
  std::map<std::string, size_t> per_table_;
};

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
