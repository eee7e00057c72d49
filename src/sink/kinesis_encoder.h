// The Kinesis sink's encoder: a CdcEvent becomes one PutRecords entry (the
// serialized event and its partition key) that carries its acknowledgement
// handle (ticket and receiver) to the lane that sends it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "heliosdb/cdc/event.h"
#include "heliosdb/cdc/serialization.h"
#include "heliosdb/cdc/sink.h"

namespace heliosdb::cdc::kinesis {

struct Record {
  uint64_t ticket = 0;
  AckReceiver* acks = nullptr;
  uint64_t sequence = 0;
  std::string data;
  std::string partition_key;

  // What the record counts against the PutRecords size limits.
  size_t size() const { return data.size() + partition_key.size(); }
};

// Fills `out`'s data (the serializer's bytes for `stream`), partition key
// (kinesis_records.h) and sequence. kInvalidArgument naming the event when
// the record exceeds Kinesis' 1 MiB; a serializer error with its context.
Status encode_record(const CdcEvent& event, EventSerializer& serializer, std::string_view stream,
                     Record& out);

}  // namespace heliosdb::cdc::kinesis
