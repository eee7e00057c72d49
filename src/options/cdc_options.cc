#include "options/cdc_options.h"

#include <limits>

#include "heliosdb/cdc/config.h"

namespace heliosdb::cdc {
namespace {

options::Table make_cdc_table() {
  const CdcConfig c;
  options::Table t;
  t.section = "cdc";
  t.options.push_back(options::string_option(
      "wal_path", c.wal_path, ".wal_path()",
      R"(WAL directory to tail (segment files `NNNNNNNNNNNNNNNNNNNN.wal`).)"));
  t.options.push_back(options::string_option(
      "database", "", ".database()",
      R"(Database whose changes are captured; changes of other databases in the same WAL are ignored.)"));
  t.options.push_back(options::string_option(
      "checkpoint_dir", c.checkpoint_dir, ".checkpoint_dir()",
      R"(Directory for checkpoint files, one per database (`<database>.checkpoint`). Created if missing.)"));
  t.options.push_back(options::int_option(
      "checkpoint_interval", static_cast<int64_t>(c.checkpoint_interval), 1,
      std::numeric_limits<int32_t>::max(), ".checkpoint_interval()",
      R"(Acknowledged events between checkpoint writes (writes start at least 10 ms apart; see [pipeline](pipeline.md)).)"));
  t.options.push_back(options::int_option(
      "checkpoint_max_age_ms", static_cast<int64_t>(c.checkpoint_max_age_ms), 1, 3600000,
      ".checkpoint_max_age_ms()",
      R"(While events flow, a checkpoint is also written at least this often.)"));
  t.options.push_back(options::int_option("batch_size", static_cast<int64_t>(c.batch_size), 1,
                                          100000, ".batch_size()",
                                          R"(Events handed to the sink per batch.)"));
  t.options.push_back(options::int_option(
      "buffer_size", static_cast<int64_t>(c.buffer_size), 1, 10000000, ".buffer_size()",
      R"(Most events in flight between the WAL reader and the sink's acknowledgement; must be at least `batch_size`. A stalled sink stops the reader here or at `buffer_bytes`, whichever comes first: lag grows, memory does not. With Kafka at several hundred thousand events/s, 20000 gave ~9 % more events/s for ~5 % more CPU ([performance](performance.md#kafka-sink)).)"));
  t.options.push_back(options::int_option(
      "buffer_bytes", static_cast<int64_t>(c.buffer_bytes),
      static_cast<int64_t>(CdcConfig::kMinBufferBytes), int64_t{1} << 40, ".buffer_bytes()",
      R"(Most bytes in flight between the WAL reader and the sink's acknowledgement: the key, value and old_value bytes of every event read and not yet acknowledged, plus the buffers that reused batch slots keep. Applied together with `buffer_size`, so a stalled sink holds no more than this whatever the row sizes; a single row larger than it passes alone, once nothing else is in flight. The default lets 10,000 rows of up to ~20 KiB through on the event count alone (typical rows never meet it) and matches the Kafka producer's own 256 MiB queue bound. What the sinks' own queues hold, and everything else the daemon holds, is in [pipeline.md](pipeline.md#backpressure-and-memory).)"));
  t.options.push_back(options::int_option(
      "poll_interval_ms", static_cast<int64_t>(c.poll_interval_ms), 1, 60000, ".poll_interval_ms()",
      R"(How long the reader waits for new WAL data when it is caught up (inotify wakes it earlier).)"));
  t.options.push_back(options::bool_option(
      "enable_metrics", c.enable_metrics, ".enable_metrics()",
      R"(Daemon: serve Prometheus metrics and `/health` on `[metrics] listen`. Library: nothing starts by itself; `start_metrics_exporter()` starts the exporter for a processor unless this is `false`. `false`: no listener is opened.)"));
  t.options.push_back(options::int_option(
      "max_transaction_memory_bytes", static_cast<int64_t>(c.max_transaction_memory_bytes), 1024,
      int64_t{2} * 1024 * 1024 * 1024, ".max_transaction_memory_bytes()",
      R"(Most memory for the changes of all open (not yet committed) transactions together. A change that would go past it makes the largest open transaction stop being held in memory: its changes are re-read from the WAL when it commits (see [pipeline.md](pipeline.md#large-transactions)).)"));
  t.options.push_back(options::int_option(
      "stop_interrupt_delay_ms", static_cast<int64_t>(c.stop_interrupt_delay_ms), 1, 3600000,
      ".stop_interrupt_delay_ms()",
      R"(After a stop request, how long a sink may stay blocked on its destination (in a send or a drain) before it is interrupted. What it had not delivered is not acknowledged, so the next run sends it again.)"));
  t.options.push_back(options::int_option(
      "drain_timeout_ms", static_cast<int64_t>(c.drain_timeout_ms), 1, 3600000,
      ".drain_timeout_ms()",
      R"(When the pipeline ends, how long it waits for the sink to deliver what it holds before the final checkpoint; what is still in flight then is sent again by the next run.)"));
  // No usable default: changes of other databases are ignored.
  auto& database = t.options[1];
  database.required = true;
  // The one place the 1 MiB floor is worded for people.
  for (auto& o : t.options) {
    if (o.key == "buffer_bytes") o.note = "(1 MiB)";
  }
  return t;
}

}  // namespace

const options::Table& cdc_option_table() {
  static const options::Table table = make_cdc_table();
  return table;
}

}  // namespace heliosdb::cdc
