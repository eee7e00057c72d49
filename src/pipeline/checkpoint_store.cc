#include "pipeline/checkpoint_store.h"
#include "common/wall_clock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "source/source.h"
#include "source/wal_position.h"

namespace heliosdb::cdc {
namespace {

constexpr std::string_view kHeaderV1 = "heliosdb-cdc checkpoint v1";
constexpr std::string_view kHeaderV2 = "heliosdb-cdc checkpoint v2";

// Copies `in`, writing every byte that `keep(byte, bytes_written_so_far)`
// rejects as %XX.
template <class Keep>
std::string percent_escape(std::string_view in, Keep keep) {
  std::string out;
  for (unsigned char c : in) {
    if (keep(c, out.size())) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// Database names become file names: keep [A-Za-z0-9._-] (no leading '.').
std::string file_stem_for(const std::string& database) {
  return percent_escape(database, [](unsigned char c, size_t at) {
    return std::isalnum(c) || c == '_' || c == '-' || (c == '.' && at > 0);
  });
}

uint32_t crc_of(std::string_view bytes) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

// Values keep printable ASCII except '%', so any bytes (a source's binary
// position, a name with a newline) fit on one line.
std::string escape_value(std::string_view value) {
  return percent_escape(value,
                        [](unsigned char c, size_t) { return c >= 0x20 && c < 0x7f && c != '%'; });
}

std::optional<std::string> unescape_value(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= text.size()) return std::nullopt;
    auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (ec != std::errc() || end != text.data() + i + 3) return std::nullopt;
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

std::optional<uint64_t> parse_decimal(std::string_view text) {
  uint64_t v = 0;
  if (text.empty() || text[0] < '0' || text[0] > '9') return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// Writes `content` to `tmp` and fsyncs it; on any failure removes `tmp`
// again, so a full disk never leaves an empty temp file behind.
Status write_temp_file(const std::string& tmp, const std::string& content) {
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("checkpoint: create " + tmp, errno);
  const char* p = content.data();
  size_t left = content.size();
  std::string failed;
  int err = 0;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      failed = "write ";
      break;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (err == 0 && ::fsync(fd) != 0) {
    err = errno;
    failed = "fsync ";
  }
  ::close(fd);
  if (err != 0) {
    ::unlink(tmp.c_str());
    return errno_status("checkpoint: " + failed + tmp, err);
  }
  return Status::ok();
}

Status write_file_durably(const std::string& dir, const std::string& path,
                          const std::string& content) {
  const std::string tmp = path + ".tmp";
  HELIOSDB_RETURN_IF_ERROR(write_temp_file(tmp, content));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errno_status("checkpoint: rename " + tmp + " to " + path, err);
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return errno_status("checkpoint: open directory " + dir, errno);
  int rc = ::fsync(dfd);
  int e = errno;
  ::close(dfd);
  if (rc != 0) return errno_status("checkpoint: fsync directory " + dir, e);
  return Status::ok();
}

using Bad = std::function<Status(const std::string&)>;

// Format v1: the WAL triple under its own field names, in any order.
Result<Checkpoint> parse_v1(std::istringstream& in, const Bad& bad) {
  Checkpoint c;
  c.format_version = 1;
  DeliveryPosition position;
  std::string line;
  int fields = 0;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq == std::string::npos) return bad("malformed line \"" + line + "\"");
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    std::optional<uint64_t> number;
    if (key == "database") {
      c.pipeline = value;
      ++fields;
      continue;
    }
    number = parse_decimal(value);
    if (!number) return bad("bad number in \"" + line + "\"");
    if (key == "restart_sequence") {
      position.restart_sequence = *number;
    } else if (key == "commit_sequence") {
      position.commit_sequence = *number;
    } else if (key == "event_sequence") {
      position.event_sequence = *number;
    } else if (key == "updated_at_ms") {
      c.updated_at_ms = static_cast<int64_t>(*number);
    } else {
      return bad("unknown field \"" + key + "\"");
    }
    ++fields;
  }
  if (fields != 5) return bad("missing fields");
  c.source = {std::string(kWalSourceType), "", encode_wal_position(position)};
  return c;
}

// Format v2: exactly these fields, in this order.
Result<Checkpoint> parse_v2(std::istringstream& in, const Bad& bad) {
  Checkpoint c;
  c.format_version = 2;
  std::string* const text_fields[] = {&c.pipeline, &c.source.source_type, &c.source.source_id,
                                      &c.source.position};
  constexpr std::string_view kKeys[] = {"pipeline", "source", "source_id", "position",
                                        "updated_at_ms"};
  std::string line;
  for (size_t i = 0; i < std::size(kKeys); ++i) {
    if (!std::getline(in, line)) return bad("missing field \"" + std::string(kKeys[i]) + "\"");
    const std::string prefix = std::string(kKeys[i]) + "=";
    if (!line.starts_with(prefix)) {
      return bad("expected field \"" + std::string(kKeys[i]) + "\", found \"" +
                 escape_value(line.substr(0, 40)) + "\"");
    }
    std::string_view value = std::string_view(line).substr(prefix.size());
    if (i < std::size(text_fields)) {
      auto unescaped = unescape_value(value);
      if (!unescaped) return bad("bad %-escape in field \"" + std::string(kKeys[i]) + "\"");
      *text_fields[i] = std::move(*unescaped);
    } else {
      auto number = parse_decimal(value);
      if (!number) return bad("bad number in \"" + line + "\"");
      c.updated_at_ms = static_cast<int64_t>(*number);
    }
  }
  if (std::getline(in, line))
    return bad("unexpected line \"" + escape_value(line.substr(0, 40)) + "\"");
  return c;
}

}  // namespace

std::string format_checkpoint(const Checkpoint& c) {
  std::string body;
  body += kHeaderV2;
  body += "\npipeline=" + escape_value(c.pipeline);
  body += "\nsource=" + escape_value(c.source.source_type);
  body += "\nsource_id=" + escape_value(c.source.source_id);
  body += "\nposition=" + escape_value(c.source.position);
  body += "\nupdated_at_ms=" + std::to_string(c.updated_at_ms);
  body += "\n";
  char crc[16];
  std::snprintf(crc, sizeof crc, "%08x", crc_of(body));
  body += "crc32=";
  body += crc;
  body += "\n";
  return body;
}

Result<Checkpoint> parse_checkpoint(const std::string& text, const std::string& source) {
  const Bad bad = [&](const std::string& why) {
    return Status(ErrorCode::kCorruption, "checkpoint file " + source + " is damaged: " + why +
                                              " (delete it to start from the oldest WAL entry)");
  };
  size_t crc_pos = text.rfind("crc32=");
  if (crc_pos == std::string::npos || (crc_pos > 0 && text[crc_pos - 1] != '\n')) {
    return bad("no crc32 line");
  }
  std::string crc_text = text.substr(crc_pos + 6);
  while (!crc_text.empty() && (crc_text.back() == '\n' || crc_text.back() == '\r')) {
    crc_text.pop_back();
  }
  char expect[16];
  std::snprintf(expect, sizeof expect, "%08x", crc_of(std::string_view(text).substr(0, crc_pos)));
  if (crc_text != expect) return bad("checksum mismatch");
  std::istringstream in(text.substr(0, crc_pos));
  std::string line;
  std::getline(in, line);
  if (line == kHeaderV2) return parse_v2(in, bad);
  if (line == kHeaderV1) return parse_v1(in, bad);
  return bad("unknown header \"" + escape_value(line.substr(0, 60)) +
             "\" (this version reads checkpoint formats v1 and v2)");
}

FileCheckpointStore::FileCheckpointStore(std::string dir, std::string pipeline)
    : dir_(std::move(dir)), pipeline_(std::move(pipeline)) {
  const std::string stem = dir_ + "/" + file_stem_for(pipeline_);
  path_ = stem + ".checkpoint";
  lock_path_ = stem + ".lock";
}

Result<std::optional<Checkpoint>> FileCheckpointStore::load() const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    if (errno == ENOENT || !std::filesystem::exists(path_)) return std::optional<Checkpoint>();
    return errno_status("checkpoint: open " + path_, errno);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = parse_checkpoint(ss.str(), path_);
  if (!parsed) return parsed.status();
  if (parsed->pipeline != pipeline_) {
    return Status(ErrorCode::kFailedPrecondition,
                  "checkpoint file " + path_ + " belongs to database \"" +
                      escape_value(parsed->pipeline) + "\", not \"" + pipeline_ + "\"");
  }
  return std::optional<Checkpoint>(std::move(*parsed));
}

namespace {

Status create_directory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return io_error("checkpoint: create directory " + dir + ": " + ec.message());
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<PipelineLock>> FileCheckpointStore::lock() const {
  HELIOSDB_RETURN_IF_ERROR(create_directory(dir_));
  return PipelineLock::acquire(lock_path_);
}

Status FileCheckpointStore::prepare(const SourcePosition& probe) const {
  HELIOSDB_RETURN_IF_ERROR(create_directory(dir_));
  // access() passes on a full disk: only writing a checkpoint proves one fits.
  const std::string tmp = path_ + ".tmp";
  Status written = write_temp_file(
      tmp, format_checkpoint({kCheckpointFormatVersion, pipeline_, probe, wall_clock_ms()}));
  if (!written.is_ok()) {
    return Status(written.code(), "checkpoint directory " + dir_ +
                                      " cannot hold a checkpoint: " + written.message());
  }
  if (::unlink(tmp.c_str()) != 0) return errno_status("checkpoint: remove " + tmp, errno);
  return Status::ok();
}

Status FileCheckpointStore::save(const SourcePosition& position) {
  HELIOSDB_RETURN_IF_ERROR(create_directory(dir_));
  Checkpoint c;
  c.pipeline = pipeline_;
  c.source = position;
  c.updated_at_ms = wall_clock_ms();
  return write_file_durably(dir_, path_, format_checkpoint(c));
}

}  // namespace heliosdb::cdc
