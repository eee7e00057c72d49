// Avro object container files of CdcEvents (Avro 1.11 specification, "Object
// Container Files"), codec "null", so any standard Avro reader opens them:
//
//   header: "Obj" 0x01, metadata map {"avro.schema": <the seed's schema>,
//           "avro.codec": "null"}, 16-byte sync marker
//   block:  long event count, long byte size, the events' Avro encodings,
//           the sync marker
//
// The writer only produces bytes; the caller owns the file. Typical use (the
// file sink with format = "avro"):
//
//   AvroContainerWriter writer;           // new file: random sync marker
//   std::string buf;
//   writer.append_header(buf);            // once, at offset 0
//   for (event : batch) writer.add(event);
//   writer.append_block(buf);             // one block per batch
//   write(fd, buf) ...
//
// To append to an existing file (e.g. after a restart), read it, call
// scan_container() and construct the writer with the file's sync marker;
// truncate the file to `complete_size` first to drop a block torn by a crash.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "heliosdb/cdc/event.h"
#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc::avro {

using SyncMarker = std::array<char, 16>;

class AvroContainerWriter {
 public:
  // A fresh random sync marker (what a new file should use).
  static SyncMarker random_sync_marker();

  explicit AvroContainerWriter(const SyncMarker& sync = random_sync_marker());

  const SyncMarker& sync_marker() const { return sync_; }

  // Appends the file header: magic, metadata (schema, codec "null"), sync.
  void append_header(std::string& out) const;

  // Adds `event` to the pending block.
  void add(const CdcEvent& event);
  size_t pending_events() const { return count_; }
  size_t pending_bytes() const { return block_.size(); }

  // Appends the pending events as one block and clears them. Appends nothing
  // when no event is pending.
  void append_block(std::string& out);

  // Block buffers larger than this (grown by big rows) are freed once
  // appended rather than kept for reuse.
  static constexpr size_t kKeptBlockBytes = 1 << 20;

 private:
  SyncMarker sync_;
  std::string block_;
  size_t count_ = 0;
};

// What scan_container() learns from an existing container file.
struct ContainerInfo {
  SyncMarker sync{};
  std::string schema;          // the header's avro.schema
  std::string codec;           // the header's avro.codec ("null" if absent)
  uint64_t header_size = 0;    // bytes of the header, sync marker included
  uint64_t complete_size = 0;  // bytes up to the end of the last whole block
  uint64_t events = 0;         // events in the whole blocks
};

// Parses the header and walks the blocks of `file` (a container file's
// bytes). kCorruption (with the byte offset) if the header is not an Avro
// container header or a block's sync marker does not match; a block cut short
// at the end (a crash mid-write) is not an error: it is left out of
// complete_size. Files written with another schema or codec are reported as
// kFailedPrecondition, since appending to them would break them.
Result<ContainerInfo> scan_container(std::string_view file);
// The same for an open file of `size` bytes, read with pread(): only the
// header and each block's count, size and sync marker are read, so a large
// file is scanned quickly.
Result<ContainerInfo> scan_container_file(int fd, uint64_t size);

}  // namespace heliosdb::cdc::avro
