#include "heliosdb/cdc/config.h"
#include "options/cdc_options.h"

namespace heliosdb::cdc {

CdcConfig::Builder CdcConfig::builder() { return Builder(); }

std::vector<CdcConfig::Problem> CdcConfig::problems() const {
  const options::Table& table = cdc_option_table();
  std::vector<Problem> out;
  auto bad = [&](const char* option, std::string why) {
    out.push_back({option, std::move(why), table.at(option).call});
  };
  // The limits of every integer option, as declared in the table (the TOML
  // reader checks the same ones).
  auto limit = [&](const char* option, uint64_t value) {
    const options::Option& o = table.at(option);
    // Values above INT64_MAX are above every declared max.
    int64_t v = value > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(value);
    std::string why = options::range_problem(o, v);
    if (!why.empty()) bad(option, std::move(why));
  };
  if (wal_path.empty()) bad("wal_path", "must not be empty: the WAL directory to read");
  if (database.empty()) bad("database", "must be set (changes of other databases are ignored)");
  if (checkpoint_dir.empty()) {
    bad("checkpoint_dir", "must not be empty: the directory the checkpoints are written to");
  }
  limit("checkpoint_interval", checkpoint_interval);
  limit("batch_size", batch_size);
  limit("buffer_size", buffer_size);
  if (buffer_size < batch_size) {
    bad("buffer_size", "must be at least batch_size (" + std::to_string(batch_size) + ")");
  }
  limit("buffer_bytes", buffer_bytes);
  limit("poll_interval_ms", poll_interval_ms);
  limit("checkpoint_max_age_ms", checkpoint_max_age_ms);
  limit("max_transaction_memory_bytes", max_transaction_memory_bytes);
  limit("stop_interrupt_delay_ms", stop_interrupt_delay_ms);
  limit("drain_timeout_ms", drain_timeout_ms);
  return out;
}

Status CdcConfig::validate() const {
  std::vector<Problem> found = problems();
  if (found.empty()) return Status::ok();
  return Status(ErrorCode::kInvalidArgument, found.front().option + ": " + found.front().message);
}

Result<CdcConfig> CdcConfig::Builder::build() const {
  // Through the builder the problem is named by the call that set it.
  std::vector<Problem> found = c_.problems();
  if (found.empty()) return c_;
  const Problem& p = found.front();
  return Status(ErrorCode::kInvalidArgument, p.option + ": " + p.message + "; set with " + p.call);
}

}  // namespace heliosdb::cdc
