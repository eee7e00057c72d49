#include <charconv>

#include "source/wal_source.h"

namespace heliosdb::cdc {
namespace {

class WalSource final : public WalEntryReader {
 public:
  WalSource(std::string dir, std::unique_ptr<WalReader> reader)
      : dir_(std::move(dir)), reader_(std::move(reader)) {}

  Result<WalReadStatus> next(WalEntry& entry) override { return reader_->next(entry); }
  void wait_for_data(std::chrono::milliseconds timeout) override {
    reader_->wait_for_data(timeout);
  }
  uint64_t last_position() const override { return reader_->last_sequence(); }
  Result<std::unique_ptr<WalEntryReader>> open_at(uint64_t position) const override {
    return open_wal_entry_reader(dir_, position);
  }
  std::string description() const override { return "WAL " + dir_; }

 private:
  std::string dir_;
  std::unique_ptr<WalReader> reader_;
};

class WalPositionCodec final : public SourcePositionCodec {
 public:
  WalPositionCodec(std::string dir, std::string identity)
      : dir_(std::move(dir)), identity_(std::move(identity)) {}

  std::string_view source_type() const override { return kWalSourceType; }
  const std::string& source_id() const override { return identity_; }
  std::string description() const override { return "the WAL in " + dir_; }
  std::string encode(const DeliveryPosition& position) const override {
    return encode_wal_position(position);
  }
  Result<DeliveryPosition> decode(std::string_view bytes) const override {
    return decode_wal_position(bytes);
  }

 private:
  std::string dir_;
  std::string identity_;
};

// Reads "<name> <decimal>" from the front of `text`, then one space unless it
// is the last field.
bool take_field(std::string_view& text, std::string_view name, bool last, uint64_t& out) {
  if (!text.starts_with(name) || text.size() <= name.size() || text[name.size()] != ' ') {
    return false;
  }
  text.remove_prefix(name.size() + 1);
  if (text.empty() || text[0] < '0' || text[0] > '9') return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc()) return false;
  text.remove_prefix(static_cast<size_t>(end - text.data()));
  if (last) return text.empty();
  if (text.empty() || text[0] != ' ') return false;
  text.remove_prefix(1);
  return true;
}

}  // namespace

std::string encode_wal_position(const DeliveryPosition& p) {
  return "restart " + std::to_string(p.restart_sequence) + " commit " +
         std::to_string(p.commit_sequence) + " event " + std::to_string(p.event_sequence);
}

Result<DeliveryPosition> decode_wal_position(std::string_view bytes) {
  DeliveryPosition p;
  std::string_view rest = bytes;
  if (!take_field(rest, "restart", false, p.restart_sequence) ||
      !take_field(rest, "commit", false, p.commit_sequence) ||
      !take_field(rest, "event", true, p.event_sequence)) {
    return corruption("not a HeliosDB WAL position: \"" + std::string(bytes.substr(0, 80)) +
                      "\" (expected \"restart R commit C event E\")");
  }
  return p;
}

Result<std::unique_ptr<SourcePositionCodec>> open_wal_position_codec(const std::string& dir) {
  auto identity = read_wal_identity(dir);
  if (!identity) return identity.status();
  return std::unique_ptr<SourcePositionCodec>(
      std::make_unique<WalPositionCodec>(dir, identity->value_or("")));
}

Result<std::unique_ptr<WalEntryReader>> open_wal_entry_reader(const std::string& dir,
                                                              uint64_t start_sequence) {
  WalReaderOptions options;
  options.dir = dir;
  options.start_sequence = start_sequence;
  auto reader = WalReader::open(options);
  if (!reader) return reader.status();
  return std::unique_ptr<WalEntryReader>(std::make_unique<WalSource>(dir, std::move(*reader)));
}

}  // namespace heliosdb::cdc
