// [sink.kinesis]: the Kinesis sink type, read through its option table
// (kinesis_options.cc).
#include "serde/serializer_factory.h"
#include "sink/kinesis_connector.h"
#include "sink/kinesis_options.h"
#include "sink/sink_registry.h"

namespace heliosdb::cdc {

SinkType kinesis_sink_type() {
  return {"kinesis", "AWS Kinesis Data Streams via PutRecords (SigV4); acknowledged per record",
          [](config::ConfigSection& s, const SinkSettings& settings) -> SinkCreator {
            // Keys, defaults, limits and secrets from kinesis_options.cc.
            const options::Table& t = kinesis::kinesis_option_table();
            KinesisOptions o;
            o.region = s.get_string(t.at("region"));
            o.stream_name = s.get_string(t.at("stream_name"));
            o.format = parse_format(s.get_string(t.at("format"))).value_or(o.format);
            // Avro needs [schema_registry] url: say so in `config check`, not at run time.
            if (Status st = validate_serde_settings(o.format, settings.serde); !st.is_ok()) {
              s.error("format", st.message());
            }
            o.batch_size = static_cast<int>(s.get_int(t.at("batch_size")));
            o.max_retries = static_cast<int>(s.get_int(t.at("max_retries")));
            o.endpoint = s.get_string(t.at("endpoint"));
            o.ca_file = s.get_string(t.at("ca_file"));
            o.verify_tls = s.get_bool(t.at("verify_tls"));
            o.access_key_id = s.get_string(t.at("access_key_id"));
            o.secret_access_key = s.get_string(t.at("secret_access_key"));
            o.session_token = s.get_string(t.at("session_token"));
            o.profile = s.get_string(t.at("profile"));
            o.max_in_flight = static_cast<int>(s.get_int(t.at("max_in_flight")));
            o.on_failure = s.get_string(t.at("on_failure")) == "retry"
                               ? KinesisFailurePolicy::kRetry
                               : KinesisFailurePolicy::kStop;
            o.retry_base_delay = std::chrono::milliseconds(s.get_int(t.at("retry_base_delay_ms")));
            o.retry_max_delay = std::chrono::milliseconds(s.get_int(t.at("retry_max_delay_ms")));
            o.request_timeout = std::chrono::milliseconds(s.get_int(t.at("request_timeout_ms")));
            // The same rules as the library's, each at its key's line.
            s.report(kinesis::option_problems(o));

            SerdeSettings serde = settings.serde;
            return [o, serde]() -> Result<std::unique_ptr<EventSink>> {
              auto k = kinesis::make_kinesis_connector(o, serde);
              if (!k.is_ok()) return k.status();
              return std::unique_ptr<EventSink>(std::move(k).value());
            };
          }};
}

}  // namespace heliosdb::cdc
