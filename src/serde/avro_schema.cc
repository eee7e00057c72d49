#include "serde/avro_schema.h"

namespace heliosdb::cdc::avro {

std::string_view cdc_event_schema_json() {
  static constexpr std::string_view kSchema =
      R"({"type":"record","name":"CdcEvent","namespace":"heliosdb.cdc","fields":[)"
      R"({"name":"event_id","type":"string"},)"
      R"({"name":"timestamp","type":"long"},)"
      R"({"name":"sequence","type":"long"},)"
      R"({"name":"operation","type":"string"},)"
      R"({"name":"database","type":"string"},)"
      R"({"name":"table","type":"string"},)"
      R"({"name":"key","type":"bytes"},)"
      R"({"name":"value","type":["null","bytes"]},)"
      R"({"name":"old_value","type":["null","bytes"]},)"
      R"({"name":"transaction_id","type":["null","string"]},)"
      R"({"name":"metadata","type":{"type":"map","values":"string"}}]})";
  return kSchema;
}

}  // namespace heliosdb::cdc::avro
