#include "heliosdb/cdc/config.h"

namespace heliosdb::cdc {

CdcConfig::Builder CdcConfig::builder() { return Builder(); }

Status CdcConfig::validate() const {
  auto bad = [](const char* option, const std::string& why) {
    return Status(ErrorCode::kInvalidArgument, std::string(option) + ": " + why);
  };
  if (wal_path.empty()) return bad("wal_path", "must not be empty");
  if (database.empty())
    return bad("database", "must be set (changes of other databases are ignored)");
  if (checkpoint_dir.empty()) return bad("checkpoint_dir", "must not be empty");
  if (checkpoint_interval == 0) return bad("checkpoint_interval", "must be at least 1");
  if (batch_size == 0) return bad("batch_size", "must be at least 1");
  if (buffer_size == 0) return bad("buffer_size", "must be at least 1");
  if (buffer_size < batch_size) {
    return bad("buffer_size", "must be at least batch_size (" + std::to_string(batch_size) + ")");
  }
  if (buffer_bytes < kMinBufferBytes) {
    return bad("buffer_bytes", "must be at least " + std::to_string(kMinBufferBytes) + " (1 MiB)");
  }
  if (poll_interval_ms == 0) return bad("poll_interval_ms", "must be at least 1");
  if (poll_interval_ms > 60000) return bad("poll_interval_ms", "must be at most 60000");
  if (checkpoint_max_age_ms == 0) return bad("checkpoint_max_age_ms", "must be at least 1");
  if (max_transaction_memory_bytes < 1024) {
    return bad("max_transaction_memory_bytes", "must be at least 1024");
  }
  return Status::ok();
}

Result<CdcConfig> CdcConfig::Builder::build() const {
  Status st = c_.validate();
  if (!st.is_ok()) return st;
  return c_;
}

}  // namespace heliosdb::cdc
