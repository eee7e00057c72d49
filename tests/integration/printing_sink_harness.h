// Test wrappers around the example's custom sink (examples/printing_sink.h)
// for the sink conformance suite: one that names each event on its line (so a
// run's output can be checked for lost events), one whose destination
// rejects one event.
#pragma once

#include <cstdio>
#include <string>

#include "heliosdb/cdc/status.h"
#include "printing_sink.h"

namespace heliosdb::cdc::conformance {

// Prints "<event_id> " before PrintingSink's own line.
class IdentifiedPrintingSink : public PrintingSink {
 public:
  explicit IdentifiedPrintingSink(std::FILE* out) : PrintingSink(out), out_(out) {}
  Status send(const CdcEvent& event) override {
    std::fprintf(out_, "%s ", event.event_id.c_str());
    return PrintingSink::send(event);
  }

 private:
  std::FILE* out_;
};

// PrintingSink whose send() of the event with sequence `reject` fails, as a
// custom sink's destination refusing a write would: the default send_batch()
// then returns the error, acknowledging nothing of that batch.
class RejectingPrintingSink : public PrintingSink {
 public:
  RejectingPrintingSink(std::FILE* out, uint64_t reject) : PrintingSink(out), reject_(reject) {}
  Status send(const CdcEvent& event) override {
    if (event.sequence == reject_) {
      return Status(ErrorCode::kUnavailable,
                    "printing sink: the destination refused event " + event.event_id);
    }
    return PrintingSink::send(event);
  }

 private:
  uint64_t reject_;
};

}  // namespace heliosdb::cdc::conformance
