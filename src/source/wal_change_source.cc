// The HeliosDB WAL behind the source seam: entries of the configured
// database, assembled into committed transactions, handed to the pipeline.
#include <spdlog/spdlog.h>

#include <optional>

#include "source/database_match.h"
#include "source/txn_assembler.h"
#include "source/wal_source.h"

namespace heliosdb::cdc {
namespace {

using Clock = std::chrono::steady_clock;

void warn_if_set(const std::optional<std::string>& warning) {
  if (warning) spdlog::warn("{}", *warning);
}

class WalChangeSource final : public ChangeSource {
 public:
  WalChangeSource(const WalSourceOptions& options, std::unique_ptr<WalEntryReader> reader,
                  uint64_t resumed_commit)
      : reader_(std::move(reader)),
        assembler_(reader_.get(), options.database, options.max_transaction_memory_bytes),
        databases_(options.database, reader_->description(), Clock::now()) {
    assembler_.resume_after_commit(resumed_commit);
  }

  Result<SourceReadStatus> read(TransactionHandler& handler, size_t max_entries) override {
    for (size_t n = 0; n < max_entries; ++n) {
      auto r = reader_->next(entry_);
      if (!r) return r.status();
      if (*r == WalReadStatus::kEndOfLog) return SourceReadStatus::kCaughtUp;
      if (!databases_.count(entry_.database)) {
        // A WAL of other databases only still says so while it is read.
        if (databases_.entries() % 4096 == 0) {
          warn_if_set(databases_.periodic_warning(Clock::now()));
        }
        continue;
      }
      HELIOSDB_RETURN_IF_ERROR(assembler_.add(entry_, handler));
    }
    return SourceReadStatus::kMore;
  }
  void wait_for_data(std::chrono::milliseconds timeout) override {
    reader_->wait_for_data(timeout);
  }
  SourceProgress progress() const override {
    return {reader_->last_position(), assembler_.aborted_transactions(),
            assembler_.aborted_changes()};
  }
  void log_health(bool end_of_run) override {
    warn_if_set(end_of_run ? databases_.warning() : databases_.periodic_warning(Clock::now()));
  }
  std::string description() const override { return reader_->description(); }

 private:
  std::unique_ptr<WalEntryReader> reader_;
  TxnAssembler assembler_;
  DatabaseMatchCounter databases_;
  WalEntry entry_;  // the entry being read; its views live until the next one
};

class WalSourceFactory final : public SourceFactory {
 public:
  explicit WalSourceFactory(WalSourceOptions options) : options_(std::move(options)) {}

  Result<std::unique_ptr<SourcePositionCodec>> open_position_codec() override {
    auto codec = open_wal_position_codec(options_.dir);
    if (codec && (*codec)->source_id().empty()) {
      spdlog::warn(
          "the WAL in {} has no identity file (written by an older version): checkpoints "
          "cannot tell it from a replaced WAL until a WAL writer opens it",
          options_.dir);
    }
    return codec;
  }
  Result<std::unique_ptr<ChangeSource>> open(const DeliveryPosition& resume,
                                             const std::string& checkpoint_file) override {
    auto reader = open_wal_entry_reader_for_resume(options_.dir, resume, checkpoint_file);
    if (!reader) return reader.status();
    return std::unique_ptr<ChangeSource>(
        std::make_unique<WalChangeSource>(options_, std::move(*reader), resume.commit_sequence));
  }
  std::string start_description() const override { return "the oldest WAL entry"; }

 private:
  WalSourceOptions options_;
};

}  // namespace

std::unique_ptr<SourceFactory> make_wal_source_factory(WalSourceOptions options) {
  return std::make_unique<WalSourceFactory>(std::move(options));
}

}  // namespace heliosdb::cdc
