// [sink.kinesis]: the Kinesis sink's options (KinesisOptions,
// heliosdb/cdc/kinesis.h), declared once: keys, defaults (from a
// default-constructed KinesisOptions), limits, secrets, the builder call
// that sets each and its doc. The TOML reader (kinesis_sink_type()),
// `config options sink.kinesis` and docs/configuration.md read it;
// check_options() is the library's wording of the same rules.
#pragma once

#include <string_view>

#include "heliosdb/cdc/kinesis.h"
#include "options/option_table.h"

namespace heliosdb::cdc::kinesis {

const options::Table& kinesis_option_table();

// A region name as AWS spells them ("us-east-1"): 1-32 of a-z 0-9 -.
bool valid_region(std::string_view region);
// A stream name: 1-128 of a-z A-Z 0-9 _ . -.
bool valid_stream_name(std::string_view name);

// Every rule `o` breaks, in table order (no I/O beyond looking at ca_file).
options::Problems option_problems(const KinesisOptions& o);

// The first problem, worded for the library: "kinesis batch_size: must be at
// most 500; set with .batch_size()".
Status check_options(const KinesisOptions& o);

}  // namespace heliosdb::cdc::kinesis
