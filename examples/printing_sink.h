// The example's custom sink: implement EventSink's send/flush/close/name (the
// seed's interface). This one prints one line per change and counts changes
// per table. In its own header so tests can run it like any other sink.
#pragma once

#include <heliosdb/cdc/sink.h>

#include <cstdio>
#include <map>
#include <string>

class PrintingSink : public heliosdb::cdc::EventSink {
 public:
  // `out` stays owned by the caller; stdout in the example.
  explicit PrintingSink(std::FILE* out = stdout) : out_(out) {}

  heliosdb::cdc::Status send(const heliosdb::cdc::CdcEvent& event) override {
    std::fprintf(out_, "%s %s.%s key=%zu bytes\n",
                 std::string(heliosdb::cdc::operation_name(event.operation)).c_str(),
                 event.database.c_str(), event.table.c_str(), event.key.size());
    ++per_table_[event.table];
    return heliosdb::cdc::Status::ok();
  }
  // Nothing is buffered: every send() is already written to the stream.
  heliosdb::cdc::Status flush() override {
    std::fflush(out_);
    return heliosdb::cdc::Status::ok();
  }
  heliosdb::cdc::Status close() override {
    for (const auto& [table, count] : per_table_)
      std::fprintf(out_, "table %s: %zu\n", table.c_str(), count);
    return flush();
  }
  std::string_view name() const override { return "printing"; }

 private:
  std::FILE* out_;
  std::map<std::string, size_t> per_table_;
};
