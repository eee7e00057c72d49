// [sink.file] and [sink.stdout]: the line sinks' options (FileSinkOptions,
// sink/file_sink.h), declared once. The readers in file_sink.cc, `config
// options sink.file` / `sink.stdout` and docs/configuration.md read these
// tables; defaults come from a default-constructed FileSinkOptions (the
// path's from the table: the struct has none, stdout needs none).
#pragma once

#include "options/option_table.h"
#include "sink/file_sink.h"

namespace heliosdb::cdc {

const options::Table& file_sink_option_table();
const options::Table& stdout_sink_option_table();

// Every rule `o` breaks as a file sink's options, in table order.
options::Problems file_sink_problems(const FileSinkOptions& o);

}  // namespace heliosdb::cdc
