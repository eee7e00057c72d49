// libFuzzer target for the WAL reader (and the writer's recovery scan).
//
// Two modes, picked by the first input byte:
//  - raw: the input is the body of one or two segment files (valid headers are
//    prepended), so the fuzzer works on fragments and entries directly;
//  - structured: the input describes entries that WalWriter writes, then
//    damage (byte flips, a truncation) applied to the files.
// Invariants checked: no crash or sanitizer report, next() terminates,
// sequences strictly increase, and in structured mode every entry returned is
// byte-for-byte an entry that was written (damage is never passed through).
// Structured mode may instead apply a power loss (zeros from a 4 KiB page
// boundary to the end of the newest segment): that must read without error
// as a prefix of what was written, and the writer must reopen and go on.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "heliosdb/cdc/wal.h"
#include "wal/wal_files.h"
#include "wal/wal_format.h"

using namespace heliosdb::cdc;

namespace {

const std::string& work_dir() {
  static std::string dir = [] {
    std::string tmpl = (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    tmpl += "/heliosdb-wal-fuzz-XXXXXX";
    std::vector<char> b(tmpl.begin(), tmpl.end());
    b.push_back('\0');
    if (!mkdtemp(b.data())) abort();
    return std::string(b.data());
  }();
  return dir;
}

void clear_dir(const std::string& dir) {
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") unlink((dir + "/" + n).c_str());
    }
    closedir(d);
  }
}

void write_file(const std::string& path, const std::string& bytes) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) abort();
  if (!bytes.empty() && write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
    abort();
  close(fd);
}

std::string header(uint64_t first) {
  char h[wal::kSegmentHeaderSize];
  wal::encode_segment_header(first, 0, h);
  return std::string(h, sizeof h);
}

struct Input {
  const uint8_t* p;
  size_t n;
  uint8_t byte() {
    if (!n) return 0;
    --n;
    return *p++;
  }
  uint32_t u16() { return byte() | (uint32_t{byte()} << 8); }
};

// Reads everything under `policy`; checks invariants; returns entries by
// sequence. `clean`, if given, is set to whether reading ended without error.
std::map<uint64_t, OwnedWalEntry> read_all(const std::string& dir, uint64_t start,
                                           WalCorruptionPolicy policy, bool* clean = nullptr) {
  if (clean) *clean = false;
  std::map<uint64_t, OwnedWalEntry> out;
  WalReaderOptions o;
  o.dir = dir;
  o.start_sequence = start;
  o.corruption_policy = policy;
  o.on_corruption = [](const WalCorruption& c) {
    if (c.reason.empty()) __builtin_trap();
  };
  auto reader = WalReader::open(o);
  if (!reader) return out;
  WalEntry e;
  uint64_t last = 0;
  for (int i = 0; i < 200000; ++i) {
    auto st = (*reader)->next(e);
    if (!st) {
      if (st.status().message().empty()) __builtin_trap();
      return out;
    }
    if (*st == WalReadStatus::kEndOfLog) {
      if (clean) *clean = true;
      return out;
    }
    if (e.sequence <= last && last != 0) __builtin_trap();  // must strictly increase
    if (e.sequence < start) __builtin_trap();
    last = e.sequence;
    out[e.sequence] = OwnedWalEntry::from(e);
  }
  __builtin_trap();  // next() did not terminate
}

void raw_mode(Input in) {
  const std::string& dir = work_dir();
  uint64_t second_first = 1 + in.byte();
  size_t split = in.n ? (in.byte() * in.n) / 256 : 0;
  std::string body(reinterpret_cast<const char*>(in.p), in.n);
  write_file(wal::segment_path(dir, 1), header(1) + body.substr(0, split));
  if (split < body.size()) {
    write_file(wal::segment_path(dir, second_first), header(second_first) + body.substr(split));
  }
  read_all(dir, 0, WalCorruptionPolicy::kStop);
  read_all(dir, 0, WalCorruptionPolicy::kSkip);
  read_all(dir, 2, WalCorruptionPolicy::kSkip);
  // The writer's recovery must not crash either (it may refuse with an error).
  WalWriterOptions wo;
  wo.dir = dir;
  wo.sync_policy = WalSyncPolicy::kNever;
  auto w = WalWriter::open(wo);
  if (w) {
    WalEntry e;
    e.kind = WalEntryKind::Commit;
    (void)(*w)->append(e);
  }
}

// Zeros from the `page`-th 4 KiB boundary of the newest segment `seg` to its
// end: a torn tail. Reading stops cleanly after an unbroken prefix of
// `written`, and the writer reopens, cuts the tail and appends after it.
void power_loss(const std::string& dir, const WalWriterOptions& wo, const WalSegmentInfo& seg,
                uint32_t page, const std::map<uint64_t, OwnedWalEntry>& written) {
  uint64_t pages = seg.size_bytes / 4096;
  if (pages == 0) return;
  uint64_t from = (1 + page % pages) * 4096;
  if (from >= seg.size_bytes) return;
  int fd = open(seg.path.c_str(), O_WRONLY);
  if (fd < 0) abort();
  std::string zeros(seg.size_bytes - from, '\0');
  if (pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(from)) !=
      static_cast<ssize_t>(zeros.size()))
    abort();
  close(fd);
  bool clean = false;
  auto got = read_all(dir, 0, WalCorruptionPolicy::kStop, &clean);
  if (!clean) __builtin_trap();  // a power-loss tail was called corruption
  uint64_t next = wo.first_sequence;
  for (const auto& [seq, e] : got) {
    auto it = written.find(seq);
    if (seq != next++ || it == written.end() || !(it->second == e)) __builtin_trap();
  }
  auto w = WalWriter::open(wo);
  if (!w) __builtin_trap();  // the writer refused to cut the torn tail
  if ((*w)->next_sequence() != next) __builtin_trap();
  WalEntry e;
  e.kind = WalEntryKind::Commit;
  if (!(*w)->append(e)) __builtin_trap();
  if (!(*w)->close().is_ok()) __builtin_trap();
  if (read_all(dir, 0, WalCorruptionPolicy::kStop, &clean).size() != got.size() + 1 || !clean)
    __builtin_trap();
}

void structured_mode(Input in) {
  const std::string& dir = work_dir();
  WalWriterOptions wo;
  wo.dir = dir;
  wo.sync_policy = WalSyncPolicy::kNever;
  wo.segment_bytes = 64 + in.u16() * 8;
  wo.first_sequence = 1 + in.byte();
  std::map<uint64_t, OwnedWalEntry> written;
  {
    auto w = WalWriter::open(wo);
    if (!w) __builtin_trap();
    size_t count = in.byte() % 24;
    for (size_t i = 0; i < count; ++i) {
      OwnedWalEntry e;
      e.kind = static_cast<WalEntryKind>(1 + in.byte() % 7);
      e.transaction_id = in.byte();
      e.timestamp_ms = in.byte();
      e.database = std::string(in.byte() % 4, 'd');
      e.table = std::string(in.byte() % 8, 't');
      e.key = std::string(in.byte() % 16, 'k');
      uint8_t f = in.byte();
      size_t vlen = (f & 0x80) ? in.u16() * 4 : f % 64;  // up to ~256 KiB: spans blocks
      if (f & 1) e.value = std::string(vlen, static_cast<char>('a' + i % 26));
      if (f & 2) e.old_value = std::string(vlen / 2, 'o');
      auto seq = (*w)->append(e.view());
      if (!seq) __builtin_trap();
      e.sequence = *seq;
      written[*seq] = e;
    }
  }
  auto segs = list_wal_segments(dir);
  if (!segs || segs->empty()) return;
  uint8_t mode = in.byte();
  if (mode % 8 == 7) {
    power_loss(dir, wo, segs->back(), in.u16(), written);
    return;
  }
  // Damage: flips and an optional truncation of one segment.
  size_t damages = mode % 4;
  for (size_t i = 0; i < damages; ++i) {
    const auto& s = (*segs)[in.byte() % segs->size()];
    if (s.size_bytes == 0) continue;
    uint64_t off = (uint64_t{in.u16()} << 8 | in.byte()) % s.size_bytes;
    uint8_t mask = in.byte();
    if (mask == 0) {
      if (truncate(s.path.c_str(), static_cast<off_t>(off)) != 0) abort();
      continue;
    }
    int fd = open(s.path.c_str(), O_RDWR);
    unsigned char b;
    if (pread(fd, &b, 1, static_cast<off_t>(off)) == 1) {
      b ^= mask;
      if (pwrite(fd, &b, 1, static_cast<off_t>(off)) != 1) abort();
    }
    close(fd);
  }
  for (auto policy : {WalCorruptionPolicy::kStop, WalCorruptionPolicy::kSkip}) {
    for (const auto& [seq, e] : read_all(dir, 0, policy)) {
      auto it = written.find(seq);
      if (it == written.end() || !(it->second == e)) __builtin_trap();  // damage passed through
    }
  }
  if (damages == 0) {
    auto all = read_all(dir, 0, WalCorruptionPolicy::kStop);
    if (all.size() != written.size()) __builtin_trap();  // lost an intact entry
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  clear_dir(work_dir());
  Input in{data + 1, size - 1};
  if (data[0] & 1) {
    structured_mode(in);
  } else {
    raw_mode(in);
  }
  return 0;
}
