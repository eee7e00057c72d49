#include "source/source.h"

namespace heliosdb::cdc {
namespace {

class WalSource final : public ChangeSource {
 public:
  WalSource(std::string dir, std::unique_ptr<WalReader> reader)
      : dir_(std::move(dir)), reader_(std::move(reader)) {}

  Result<WalReadStatus> next(WalEntry& entry) override { return reader_->next(entry); }
  void wait_for_data(std::chrono::milliseconds timeout) override {
    reader_->wait_for_data(timeout);
  }
  uint64_t last_position() const override { return reader_->last_sequence(); }
  Result<std::unique_ptr<ChangeSource>> open_at(uint64_t position) const override {
    return open_wal_source(dir_, position);
  }
  std::string description() const override { return "WAL " + dir_; }

 private:
  std::string dir_;
  std::unique_ptr<WalReader> reader_;
};

}  // namespace

Result<std::unique_ptr<ChangeSource>> open_wal_source(const std::string& dir,
                                                      uint64_t start_sequence) {
  WalReaderOptions options;
  options.dir = dir;
  options.start_sequence = start_sequence;
  auto reader = WalReader::open(options);
  if (!reader) return reader.status();
  return std::unique_ptr<ChangeSource>(std::make_unique<WalSource>(dir, std::move(*reader)));
}

}  // namespace heliosdb::cdc
