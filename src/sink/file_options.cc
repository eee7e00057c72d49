#include "sink/file_options.h"

namespace heliosdb::cdc {
namespace {

options::Table make_file_table() {
  const FileSinkOptions d;
  options::Table t;
  t.section = "sink.file";
  auto& v = t.options;
  v.push_back(options::string_option("path", "cdc-events.jsonl", "FileSinkOptions::path",
                                     "Output file; created if missing, appended to otherwise."));
  v.push_back(options::enum_option("format", std::string(format_name(d.format)), {"json", "avro"},
                                   "FileSinkOptions::format", "Serialization:"));
  v.back().allowed_docs = {"JSON lines",
                           "an Avro object container file that standard Avro readers open (see "
                           "[avro.md](avro.md#object-container-files-file-sink))"};
  v.push_back(options::int_option(
      "sync_interval_ms", d.sync_interval.count(), 1, 60000, "FileSinkOptions::sync_interval",
      "Longest time written events wait for their fsync while the pipeline is busy (group "
      "commit). When the pipeline is idle they are synced at once."));
  v.push_back(options::int_option("sync_bytes", static_cast<int64_t>(d.sync_bytes), 4096,
                                  int64_t{1024} * 1024 * 1024, "FileSinkOptions::sync_bytes",
                                  "Pending bytes that force an fsync."));
  return t;
}

options::Table make_stdout_table() {
  options::Table t;
  t.section = "sink.stdout";
  t.options.push_back(
      options::enum_option("format", "json", {"json"}, "", "Serialization format (JSON lines)."));
  return t;
}

}  // namespace

const options::Table& file_sink_option_table() {
  static const options::Table table = make_file_table();
  return table;
}

const options::Table& stdout_sink_option_table() {
  static const options::Table table = make_stdout_table();
  return table;
}

options::Problems file_sink_problems(const FileSinkOptions& o) {
  options::Problems p(file_sink_option_table());
  p.not_empty("path", o.path);
  p.limit("sync_interval_ms", o.sync_interval.count());
  p.limit("sync_bytes", static_cast<int64_t>(o.sync_bytes));
  return p;
}

}  // namespace heliosdb::cdc
