// How the pipeline opens the HeliosDB WAL source without seeing the WAL:
// this header names nothing of wal/ (the processor includes it for its
// default source).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "source/source.h"

namespace heliosdb::cdc {

struct WalSourceOptions {
  std::string dir;       // [cdc] wal_path
  std::string database;  // only this database's entries are delivered
  // What the assembler may hold of open transactions; a larger one is
  // re-read from the WAL at its commit ([cdc] max_transaction_memory_bytes).
  uint64_t max_transaction_memory_bytes = 0;
};

// The HeliosDB WAL as a source of committed transactions.
std::unique_ptr<SourceFactory> make_wal_source_factory(WalSourceOptions options);

}  // namespace heliosdb::cdc
