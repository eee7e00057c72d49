#include "heliosdb/cdc/sink.h"

#include <thread>

namespace heliosdb::cdc {

Status EventSink::send_batch(const EventBatch& batch, AckReceiver& acks) {
  for (const CdcEvent& event : batch.events) {
    HELIOSDB_RETURN_IF_ERROR(send(event));
  }
  HELIOSDB_RETURN_IF_ERROR(flush());
  if (!batch.events.empty()) acks.acknowledge(batch.first_ticket, batch.events.size());
  return Status::ok();
}

Status EventSink::poll(std::chrono::milliseconds) { return Status::ok(); }

Status EventSink::drain(std::chrono::milliseconds) { return flush(); }

}  // namespace heliosdb::cdc
