#include "config/option_tables.h"

#include "filter/filter_options.h"
#include "metrics/metrics_config.h"
#include "options/cdc_options.h"
#include "serde/schema_registry_options.h"
#include "sink/file_options.h"
#include "sink/kafka_options.h"
#include "sink/kinesis_options.h"
#include "sink/sink_registry.h"
#include "source/postgres/postgres_options.h"

namespace heliosdb::cdc::config {

const std::vector<const options::Table*>& option_tables() {
  // One line per section, in the order of docs/configuration.md.
  static const std::vector<const options::Table*> tables = {
      &cdc_option_table(),                  //
      &pg::source_option_table(),           //
      &pg::postgres_source_option_table(),  //
      &metrics::metrics_option_table(),     //
      &sink_option_table(),                 //
      &kafka::kafka_option_table(),         //
      &kinesis::kinesis_option_table(),     //
      &file_sink_option_table(),            //
      &stdout_sink_option_table(),          //
      &schema_registry_option_table(),      //
      &filter_rule_option_table(),          //
      &transform_option_table(),            //
  };
  return tables;
}

const options::Table* find_option_table(std::string_view section) {
  for (const options::Table* t : option_tables()) {
    if (t->section == section) return t;
  }
  return nullptr;
}

}  // namespace heliosdb::cdc::config
