#include "heliosdb/cdc/config.h"

namespace heliosdb::cdc {

CdcConfig::Builder CdcConfig::builder() { return Builder(); }

std::vector<CdcConfig::Problem> CdcConfig::problems() const {
  std::vector<Problem> out;
  auto bad = [&](const char* option, std::string why) { out.push_back({option, std::move(why)}); };
  if (wal_path.empty()) bad("wal_path", "must not be empty: the WAL directory to read");
  if (database.empty()) bad("database", "must be set (changes of other databases are ignored)");
  if (checkpoint_dir.empty()) {
    bad("checkpoint_dir", "must not be empty: the directory the checkpoints are written to");
  }
  if (checkpoint_interval == 0) bad("checkpoint_interval", "must be at least 1");
  if (batch_size == 0) bad("batch_size", "must be at least 1");
  if (buffer_size == 0) bad("buffer_size", "must be at least 1");
  if (buffer_size < batch_size) {
    bad("buffer_size", "must be at least batch_size (" + std::to_string(batch_size) + ")");
  }
  if (buffer_bytes < kMinBufferBytes) {
    bad("buffer_bytes", "must be at least " + std::to_string(kMinBufferBytes) + " (1 MiB)");
  }
  if (poll_interval_ms == 0) bad("poll_interval_ms", "must be at least 1");
  if (poll_interval_ms > 60000) bad("poll_interval_ms", "must be at most 60000");
  if (checkpoint_max_age_ms == 0) bad("checkpoint_max_age_ms", "must be at least 1");
  if (max_transaction_memory_bytes < 1024) {
    bad("max_transaction_memory_bytes", "must be at least 1024");
  }
  if (stop_interrupt_delay_ms == 0) bad("stop_interrupt_delay_ms", "must be at least 1");
  if (stop_interrupt_delay_ms > 3600000) bad("stop_interrupt_delay_ms", "must be at most 3600000");
  if (drain_timeout_ms == 0) bad("drain_timeout_ms", "must be at least 1");
  if (drain_timeout_ms > 3600000) bad("drain_timeout_ms", "must be at most 3600000");
  return out;
}

Status CdcConfig::validate() const {
  std::vector<Problem> found = problems();
  if (found.empty()) return Status::ok();
  return Status(ErrorCode::kInvalidArgument, found.front().option + ": " + found.front().message);
}

Result<CdcConfig> CdcConfig::Builder::build() const {
  Status st = c_.validate();
  if (!st.is_ok()) return st;
  return c_;
}

}  // namespace heliosdb::cdc
