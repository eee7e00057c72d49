// The Avro schema of CdcEvent: exactly the seed's record schema
// (namespace heliosdb.cdc), fields in this order:
//
//   event_id string, timestamp long, sequence long, operation string,
//   database string, table string, key bytes, value ["null","bytes"],
//   old_value ["null","bytes"], transaction_id ["null","string"],
//   metadata {"type":"map","values":"string"}
//
// The encoder in avro_encoder.h is written by hand for this one schema; if the
// schema changes, the encoder and tests/python/avro_check.py change with it.
#pragma once

#include <string_view>

namespace heliosdb::cdc::avro {

// The schema as JSON text (compact, as registered with a schema registry and
// written into container file headers).
std::string_view cdc_event_schema_json();

// "heliosdb.cdc.CdcEvent": the record's full name (RecordNameStrategy subject).
inline constexpr std::string_view kCdcEventFullName = "heliosdb.cdc.CdcEvent";

}  // namespace heliosdb::cdc::avro
