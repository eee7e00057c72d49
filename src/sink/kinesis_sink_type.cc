// [sink.kinesis]: the option table of the Kinesis sink.
#include "sink/kinesis_connector.h"
#include "serde/serializer_factory.h"
#include "sink/sink_registry.h"

namespace heliosdb::cdc {

SinkType kinesis_sink_type() {
  return {
      "kinesis", "AWS Kinesis Data Streams via PutRecords (SigV4); acknowledged per record",
      [](config::ConfigSection& s, const SinkSettings& settings) -> SinkCreator {
        KinesisOptions o;
        o.region = s.get_string("region", o.region);
        o.stream_name = s.get_string("stream_name", o.stream_name);
        std::string format = s.get_string("format", "json", config::Secret::kNo, {"json", "avro"});
        o.format = parse_format(format).value_or(SerializationFormat::Json);
        // Avro needs [schema_registry] url: say so in `config check`, not at run time.
        if (Status st = validate_serde_settings(o.format, settings.serde); !st.is_ok()) {
          s.error("format", st.message());
        }
        o.batch_size = static_cast<int>(s.get_int("batch_size", o.batch_size, 1, 500));
        o.max_retries = static_cast<int>(s.get_int("max_retries", o.max_retries, 0, 1000));
        o.endpoint = s.get_string("endpoint", "");
        o.ca_file = s.get_string("ca_file", "");
        o.verify_tls = s.get_bool("verify_tls", o.verify_tls);
        o.access_key_id = s.get_string("access_key_id", "", config::Secret::kYes);
        o.secret_access_key = s.get_string("secret_access_key", "", config::Secret::kYes);
        o.session_token = s.get_string("session_token", "", config::Secret::kYes);
        o.profile = s.get_string("profile", "");
        o.max_in_flight = static_cast<int>(s.get_int("max_in_flight", o.max_in_flight, 1, 64));
        std::string policy =
            s.get_string("on_failure", "stop", config::Secret::kNo, {"stop", "retry"});
        o.on_failure =
            policy == "retry" ? KinesisFailurePolicy::kRetry : KinesisFailurePolicy::kStop;
        o.retry_base_delay = std::chrono::milliseconds(
            s.get_int("retry_base_delay_ms", o.retry_base_delay.count(), 0, 60000));
        o.retry_max_delay = std::chrono::milliseconds(
            s.get_int("retry_max_delay_ms", o.retry_max_delay.count(), 0, 600000));
        o.request_timeout = std::chrono::milliseconds(
            s.get_int("request_timeout_ms", o.request_timeout.count(), 100, 600000));

        // Same checks as the builder, reported against the section's keys.
        Status st = kinesis::validate_options(o);
        if (!st.is_ok()) {
          std::string msg = st.message();
          std::string key;
          if (msg.rfind("kinesis ", 0) == 0) {
            size_t colon = msg.find(':');
            key = msg.substr(8, colon - 8);
            msg = msg.substr(colon + 2);
          }
          if (key == "retry delays") key = "retry_max_delay_ms";
          s.error(s.has(key) ? key : "", msg);
        }
        if (o.access_key_id.empty() != o.secret_access_key.empty()) {
          s.error(o.access_key_id.empty() ? "secret_access_key" : "access_key_id",
                  "access_key_id and secret_access_key must be set together");
        }

        SerdeSettings serde = settings.serde;
        return [o, serde]() -> Result<std::unique_ptr<EventSink>> {
          auto k = kinesis::make_kinesis_connector(o, serde);
          if (!k.is_ok()) return k.status();
          return std::unique_ptr<EventSink>(std::move(k).value());
        };
      }};
}

}  // namespace heliosdb::cdc
