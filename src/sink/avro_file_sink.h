// The file sink with format = "avro": an Avro object container file
// (avro_container_writer.h) that standard Avro readers open (Python's
// DataFileReader, avro-tools, Spark, ...).
//
// Layout: the header when the file is new or empty, then one block per batch
// handed to send_batch() (or per flush() with the simple send() interface).
// An event is acknowledged only once its block is fsync'ed; syncs are grouped
// exactly like the JSON file sink (sync_bytes, sync_interval, at once when
// the processor is idle).
//
// Restart: an existing file is scanned (header and block boundaries only);
// new blocks reuse its sync marker, and a block torn by a crash mid-write is
// cut off first (its events were never acknowledged, so they come again). A
// file that is not a container of heliosdb.cdc.CdcEvent (e.g. JSON lines) is
// refused with a clear error rather than appended to.
//
// Like the JSON file sink, it checks before acknowledging that the file was
// neither deleted nor truncated under it (sink/output_file_check.h), and
// request_reopen() (SIGHUP) finishes the current file and opens the path
// again: after a rotation renamed it, a new container with its own header.
#pragma once

#include <memory>

#include "heliosdb/cdc/sink.h"
#include "sink/file_sink.h"

namespace heliosdb::cdc {

// `options.format` is ignored (always Avro).
std::unique_ptr<EventSink> make_avro_file_sink(FileSinkOptions options);

}  // namespace heliosdb::cdc
