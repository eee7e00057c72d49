// The Kafka sink's options: the librdkafka producer configuration built from
// KafkaOptions, and the [sink.kafka] config section (kafka_sink_type()).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <librdkafka/rdkafka.h>

#include "heliosdb/cdc/kafka.h"
#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc::kafka {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// Our defaults for librdkafka properties the user did not set in
// `properties` (see docs/kafka.md for why).
inline constexpr std::pair<std::string_view, std::string_view> kDefaultProperties[] = {
    {"client.id", "heliosdb-cdc"},
    // Java-compatible key hashing: a key lands where a Java producer puts it.
    {"partitioner", "murmur2_random"},
    // Never give up on a message locally: a broker outage is lag, not loss.
    {"message.timeout.ms", "0"},
    // Bound the producer's memory (librdkafka's default is 1 GiB).
    {"queue.buffering.max.kbytes", "262144"},
    {"linger.ms", "5"},
};

// If `property` duplicates a named option, the name of that option.
std::optional<std::string_view> named_option_for(std::string_view property);

// librdkafka's error about setting `property` to `value`, fit to print: URLs
// redacted, and the value itself removed when the property is sensitive
// (librdkafka quotes rejected values back).
std::string printable_error(std::string_view property, std::string_view value,
                            std::string_view error);

// Checks the named options against kafka_option_table() (kafka_options.h):
// the first problem, naming the KafkaOptions field that sets it.
Status validate_options(const KafkaOptions& options);

// The producer configuration for `options` (without callbacks). The error
// names the offending option or property and quotes librdkafka's reason.
Result<ConfPtr> build_producer_conf(const KafkaOptions& options);

// A property's value as librdkafka would use it: from `options.properties`
// if set there, else our default, else nullopt.
std::optional<std::string> property_or_default(const KafkaOptions& options,
                                               std::string_view property);

}  // namespace heliosdb::cdc::kafka
