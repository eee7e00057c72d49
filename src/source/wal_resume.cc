// Resuming a HeliosDB WAL source at a checkpoint: whether the WAL still holds
// what the checkpoint needs, and the errors when it does not. Each error is
// written here once; the processor only passes them on.
#include "source/wal_source.h"

namespace heliosdb::cdc {
namespace {

Status no_longer_holds(const std::string& dir, const DeliveryPosition& resume,
                       const std::string& reason) {
  return Status(ErrorCode::kFailedPrecondition,
                "the checkpoint needs WAL sequence " + std::to_string(resume.restart_sequence) +
                    " (delivered through commit sequence " +
                    std::to_string(resume.commit_sequence) + ") but the WAL in " + dir +
                    " no longer holds it: " + reason);
}

Status beyond_end(const std::string& dir, const DeliveryPosition& resume,
                  const std::string& checkpoint_file, uint64_t last) {
  return Status(ErrorCode::kFailedPrecondition,
                "the checkpoint in " + checkpoint_file +
                    " is beyond the end of the WAL: it covers commit sequence " +
                    std::to_string(resume.commit_sequence) + " but the WAL in " + dir +
                    " ends at sequence " + std::to_string(last));
}

Status lacks_commit(const std::string& dir, const DeliveryPosition& resume, uint64_t found) {
  return Status(ErrorCode::kFailedPrecondition,
                "the WAL in " + dir + " does not hold checkpointed commit sequence " +
                    std::to_string(resume.commit_sequence) + " (found sequence " +
                    std::to_string(found) + " instead)");
}

// The WAL's last sequence, for the message (reads the newest segment).
uint64_t last_wal_sequence(const std::string& dir) {
  auto segments = list_wal_segments(dir);
  if (!segments || segments->empty()) return 0;
  auto tail = open_wal_entry_reader(dir, segments->back().first_sequence);
  if (!tail) return 0;
  WalEntry entry;
  while (true) {
    auto t = (*tail)->next(entry);
    if (!t || *t == WalReadStatus::kEndOfLog) break;
  }
  return (*tail)->last_position();
}

// With nothing open at the checkpoint, reading restarts after the commit it
// covers, so the WAL must be shown to hold that commit: a WAL that ends
// earlier was reset or replaced, and resuming would silently skip changes.
Status check_wal_holds_commit(const std::string& dir, const DeliveryPosition& resume,
                              const std::string& checkpoint_file) {
  const uint64_t commit = resume.commit_sequence;
  if (commit == 0 || resume.restart_sequence <= commit) return Status::ok();
  auto probe = open_wal_entry_reader(dir, commit);
  if (!probe) {
    if (probe.status().code() == ErrorCode::kNotFound) {
      // The commit's segment may be gone while the next entry starts the
      // oldest remaining segment: nothing undelivered was lost.
      auto segments = list_wal_segments(dir);
      if (segments && !segments->empty() &&
          segments->front().first_sequence == resume.restart_sequence) {
        return Status::ok();
      }
      return no_longer_holds(dir, resume, probe.status().message());
    }
    return probe.status().with_context("opening WAL " + dir);
  }
  WalEntry entry;
  auto r = (*probe)->next(entry);
  if (!r) return r.status();
  if (*r == WalReadStatus::kEndOfLog) {
    return beyond_end(dir, resume, checkpoint_file, last_wal_sequence(dir));
  }
  if (entry.sequence != commit) return lacks_commit(dir, resume, entry.sequence);
  return Status::ok();
}

// Reads from the restart point. When that point is inside the delivered
// range, the checkpointed commit must show up as it reads; otherwise
// check_wal_holds_commit() verified it already.
class ResumingWalSource final : public WalEntryReader {
 public:
  ResumingWalSource(std::string dir, DeliveryPosition resume, std::string checkpoint_file,
                    std::unique_ptr<WalEntryReader> inner)
      : dir_(std::move(dir)),
        resume_(resume),
        checkpoint_file_(std::move(checkpoint_file)),
        inner_(std::move(inner)),
        checked_(resume.commit_sequence == 0 || resume.restart_sequence > resume.commit_sequence) {}

  Result<WalReadStatus> next(WalEntry& entry) override {
    auto r = inner_->next(entry);
    if (!r || checked_) return r;
    if (*r == WalReadStatus::kEndOfLog) {
      return beyond_end(dir_, resume_, checkpoint_file_, inner_->last_position());
    }
    if (entry.sequence >= resume_.commit_sequence) {
      if (entry.sequence != resume_.commit_sequence) {
        return lacks_commit(dir_, resume_, entry.sequence);
      }
      checked_ = true;
    }
    return r;
  }
  void wait_for_data(std::chrono::milliseconds timeout) override { inner_->wait_for_data(timeout); }
  uint64_t last_position() const override { return inner_->last_position(); }
  Result<std::unique_ptr<WalEntryReader>> open_at(uint64_t position) const override {
    return inner_->open_at(position);
  }
  std::string description() const override { return inner_->description(); }

 private:
  std::string dir_;
  DeliveryPosition resume_;
  std::string checkpoint_file_;
  std::unique_ptr<WalEntryReader> inner_;
  bool checked_;
};

}  // namespace

Result<std::unique_ptr<WalEntryReader>> open_wal_entry_reader_for_resume(
    const std::string& dir, const DeliveryPosition& resume, const std::string& checkpoint_file) {
  HELIOSDB_RETURN_IF_ERROR(check_wal_holds_commit(dir, resume, checkpoint_file));
  auto opened = open_wal_entry_reader(dir, resume.restart_sequence);
  if (!opened) {
    if (opened.status().code() == ErrorCode::kNotFound && resume.commit_sequence > 0) {
      return no_longer_holds(dir, resume, opened.status().message());
    }
    return opened.status().with_context("opening WAL " + dir);
  }
  return std::unique_ptr<WalEntryReader>(
      std::make_unique<ResumingWalSource>(dir, resume, checkpoint_file, std::move(*opened)));
}

}  // namespace heliosdb::cdc
