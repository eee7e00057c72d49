#include "sink/kinesis_encoder.h"

#include "sink/kinesis_records.h"

namespace heliosdb::cdc::kinesis {

Status encode_record(const CdcEvent& ev, EventSerializer& serializer, std::string_view stream,
                     Record& r) {
  r.sequence = ev.sequence;
  r.partition_key = partition_key_for(ev);
  Status st = serializer.serialize(ev, stream, r.data);
  if (!st.is_ok()) return st.with_context("serializing event " + ev.event_id + " for Kinesis");
  if (r.size() > kMaxBytesPerRecord) {
    return Status(ErrorCode::kInvalidArgument,
                  "event " + ev.event_id + " (sequence " + std::to_string(ev.sequence) + ") is " +
                      std::to_string(r.size()) +
                      " bytes with its partition key; Kinesis accepts at most 1 MiB "
                      "(1048576 bytes) per record");
  }
  return Status::ok();
}

}  // namespace heliosdb::cdc::kinesis
