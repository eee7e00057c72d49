#include "pipeline/checkpoint_store.h"
#include "common/wall_clock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace heliosdb::cdc {
namespace {

constexpr std::string_view kHeader = "heliosdb-cdc checkpoint v1";

// Database names become file names: keep [A-Za-z0-9._-], %-encode the rest.
std::string file_name_for(const std::string& database) {
  std::string out;
  for (unsigned char c : database) {
    if (std::isalnum(c) || c == '_' || c == '-' || (c == '.' && !out.empty())) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out + ".checkpoint";
}

uint32_t crc_of(std::string_view bytes) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

Status write_file_durably(const std::string& dir, const std::string& path,
                          const std::string& content) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("checkpoint: open " + tmp, errno);
  const char* p = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return errno_status("checkpoint: write " + tmp, e);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return errno_status("checkpoint: fsync " + tmp, e);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return errno_status("checkpoint: rename " + tmp + " to " + path, errno);
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return errno_status("checkpoint: open directory " + dir, errno);
  int rc = ::fsync(dfd);
  int e = errno;
  ::close(dfd);
  if (rc != 0) return errno_status("checkpoint: fsync directory " + dir, e);
  return Status::ok();
}

}  // namespace

std::string format_checkpoint(const Checkpoint& c) {
  std::string body;
  body += kHeader;
  body += "\ndatabase=" + c.database;
  body += "\nrestart_sequence=" + std::to_string(c.position.restart_sequence);
  body += "\ncommit_sequence=" + std::to_string(c.position.commit_sequence);
  body += "\nevent_sequence=" + std::to_string(c.position.event_sequence);
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
  auto bad = [&](const std::string& why) {
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
  if (line != kHeader) return bad("unknown header \"" + line + "\"");
  Checkpoint c;
  int fields = 0;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq == std::string::npos) return bad("malformed line \"" + line + "\"");
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    auto number = [&](auto& out) -> bool {
      try {
        size_t used = 0;
        unsigned long long v = std::stoull(value, &used);
        if (used != value.size()) return false;
        out = static_cast<std::remove_reference_t<decltype(out)>>(v);
        return true;
      } catch (...) {
        return false;
      }
    };
    bool ok = true;
    if (key == "database") {
      c.database = value;
    } else if (key == "restart_sequence") {
      ok = number(c.position.restart_sequence);
    } else if (key == "commit_sequence") {
      ok = number(c.position.commit_sequence);
    } else if (key == "event_sequence") {
      ok = number(c.position.event_sequence);
    } else if (key == "updated_at_ms") {
      ok = number(c.updated_at_ms);
    } else {
      return bad("unknown field \"" + key + "\"");
    }
    if (!ok) return bad("bad number in \"" + line + "\"");
    ++fields;
  }
  if (fields != 5) return bad("missing fields");
  return c;
}

CheckpointStore::CheckpointStore(std::string dir, std::string database)
    : dir_(std::move(dir)), database_(std::move(database)) {
  path_ = dir_ + "/" + file_name_for(database_);
}

Result<std::optional<Checkpoint>> CheckpointStore::load() const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    if (errno == ENOENT || !std::filesystem::exists(path_)) return std::optional<Checkpoint>();
    return errno_status("checkpoint: open " + path_, errno);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = parse_checkpoint(ss.str(), path_);
  if (!parsed) return parsed.status();
  if (parsed->database != database_) {
    return Status(ErrorCode::kFailedPrecondition, "checkpoint file " + path_ +
                                                      " belongs to database \"" + parsed->database +
                                                      "\", not \"" + database_ + "\"");
  }
  return std::optional<Checkpoint>(std::move(*parsed));
}

Status CheckpointStore::prepare() const {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return io_error("checkpoint: create directory " + dir_ + ": " + ec.message());
  if (::access(dir_.c_str(), W_OK | X_OK) != 0) {
    return errno_status("checkpoint: directory " + dir_ + " is not writable", errno);
  }
  return Status::ok();
}

Status CheckpointStore::save(const DeliveryPosition& position) {
  HELIOSDB_RETURN_IF_ERROR(prepare());
  Checkpoint c;
  c.database = database_;
  c.position = position;
  c.updated_at_ms = wall_clock_ms();
  return write_file_durably(dir_, path_, format_checkpoint(c));
}

}  // namespace heliosdb::cdc
