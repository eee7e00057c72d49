// `heliosdb-cdc wal generate` and `heliosdb-cdc wal dump`.
#include <signal.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/operator_signals.h"
#include "common/base64.h"
#include "common/json_text.h"
#include "heliosdb/cdc/wal.h"
#include "wal/generator.h"

namespace heliosdb::cdc::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) { g_stop.store(true); }

// SIGINT/SIGTERM set g_stop for the lifetime of this object.
class StopOnSignal {
 public:
  StopOnSignal() {
    g_stop.store(false);
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopOnSignal() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// ---- output helpers ------------------------------------------------------------
class Out {
 public:
  ~Out() { flush(); }
  Out& operator<<(std::string_view s) {
    buf_.append(s);
    if (buf_.size() >= (1 << 16)) flush();
    return *this;
  }
  Out& operator<<(char c) {
    buf_.push_back(c);
    return *this;
  }
  Out& num(uint64_t v) {
    char b[24];
    int n = std::snprintf(b, sizeof b, "%llu", static_cast<unsigned long long>(v));
    buf_.append(b, static_cast<size_t>(n));
    return *this;
  }
  Out& snum(int64_t v) {
    char b[24];
    int n = std::snprintf(b, sizeof b, "%lld", static_cast<long long>(v));
    buf_.append(b, static_cast<size_t>(n));
    return *this;
  }
  void flush() {
    if (!buf_.empty()) {
      std::fwrite(buf_.data(), 1, buf_.size(), stdout);
      buf_.clear();
    }
    std::fflush(stdout);
  }

 private:
  std::string buf_;
};

// The library's encoder (common/base64.h), through a reused scratch buffer.
void append_base64(Out& out, std::string_view bytes, std::string& scratch) {
  scratch.resize(base64_encoded_size(bytes.size()));
  char* end = base64_encode_to(scratch.data(), bytes);
  out << std::string_view(scratch.data(), static_cast<size_t>(end - scratch.data()));
}

// common/json_text.h's escaping, except that `wal dump` has always written
// \b and \f as \u0008 and \u000c: kept so its output stays byte-identical.
void append_json_string(Out& out, std::string_view s, std::string& scratch) {
  scratch.assign(1, '"');
  size_t run_start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\b' && s[i] != '\f') continue;
    append_json_escaped(scratch, s.substr(run_start, i - run_start));
    scratch += s[i] == '\b' ? "\\u0008" : "\\u000c";
    run_start = i + 1;
  }
  append_json_escaped(scratch, s.substr(run_start));
  scratch += '"';
  out << scratch;
}

// Bytes for humans: printable ASCII as is, everything else as \xNN.
void append_readable(Out& out, std::string_view s) {
  for (unsigned char c : s) {
    if (c == '\\') {
      out << "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out << static_cast<char>(c);
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out << std::string_view(b, 4);
    }
  }
}

std::string iso_time(int64_t ms) {
  time_t secs = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  int millis = static_cast<int>(ms - static_cast<int64_t>(secs) * 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char b[48];
  std::snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return b;
}

void print_json(Out& out, const WalEntry& e, std::string& scratch) {
  out << "{\"sequence\":";
  out.num(e.sequence) << ",\"timestamp\":";
  out.snum(e.timestamp_ms) << ",\"kind\":\"" << wal_entry_kind_name(e.kind)
                           << "\",\"transaction_id\":\"txn_";
  out.num(e.transaction_id) << "\",\"database\":";
  append_json_string(out, e.database, scratch);
  out << ",\"table\":";
  append_json_string(out, e.table, scratch);
  out << ",\"key\":\"";
  append_base64(out, e.key, scratch);
  out << "\",\"value\":";
  if (e.value) {
    out << '"';
    append_base64(out, *e.value, scratch);
    out << '"';
  } else {
    out << "null";
  }
  out << ",\"old_value\":";
  if (e.old_value) {
    out << '"';
    append_base64(out, *e.old_value, scratch);
    out << '"';
  } else {
    out << "null";
  }
  out << "}\n";
}

void print_text(Out& out, const WalEntry& e) {
  out << '#';
  out.num(e.sequence) << ' ' << iso_time(e.timestamp_ms) << " txn ";
  out.num(e.transaction_id) << ' ' << wal_entry_kind_name(e.kind);
  bool change = e.kind != WalEntryKind::Begin && e.kind != WalEntryKind::Commit &&
                e.kind != WalEntryKind::Abort;
  if (change || !e.table.empty() || !e.key.empty() || e.value || e.old_value) {
    out << ' ';
    append_readable(out, e.database);
    out << '.';
    append_readable(out, e.table);
    out << " key=";
    if (e.key.empty())
      out << "\"\"";
    else
      append_readable(out, e.key);
    auto opt = [&](const char* name, const std::optional<std::string_view>& v) {
      out << ' ' << name << '=';
      if (!v)
        out << "null";
      else if (v->empty())
        out << "\"\"";
      else
        append_readable(out, *v);
    };
    opt("value", e.value);
    opt("old_value", e.old_value);
  } else if (!e.database.empty()) {
    out << ' ';
    append_readable(out, e.database);
  }
  out << '\n';
}

struct DumpSummary {
  uint64_t entries = 0;
  uint64_t first = 0, last = 0;
  std::map<std::string, uint64_t> by_kind;
  std::map<std::string, uint64_t> by_table;
  uint64_t committed = 0, aborted = 0;

  void add(const WalEntry& e) {
    if (entries++ == 0) first = e.sequence;
    last = e.sequence;
    ++by_kind[std::string(wal_entry_kind_name(e.kind))];
    if (e.kind == WalEntryKind::Commit)
      ++committed;
    else if (e.kind == WalEntryKind::Abort)
      ++aborted;
    else if (e.kind != WalEntryKind::Begin) {
      std::string t(e.database);
      t += '.';
      t += e.table;
      ++by_table[t];
    }
  }
};

struct GenerateArgs {
  wal::GeneratorOptions o;
  uint64_t events = 0;
  bool events_set = false;
  std::string sync = "interval";
  int64_t start_time_ms = -1;
};

struct DumpArgs {
  std::string dir;
  uint64_t from = 0;
  uint64_t limit = 0;
  std::string format = "text";
  bool follow = false;
  bool summary = false;
};

int run_generate(GenerateArgs& a) {
  wal::GeneratorOptions o = a.o;
  if (!a.events_set && !o.follow) {
    std::fprintf(stderr, "wal generate: --events is required (or --follow)\n");
    return 2;
  }
  o.events = a.events;
  o.sync_policy = a.sync == "every"   ? WalSyncPolicy::kEveryEntry
                  : a.sync == "never" ? WalSyncPolicy::kNever
                                      : WalSyncPolicy::kInterval;
  if (a.start_time_ms >= 0) o.start_time_ms = a.start_time_ms;
  std::string problem = wal::validate_generator_options(o);
  if (!problem.empty()) {
    std::fprintf(stderr, "wal generate: %s\n", problem.c_str());
    return 2;
  }
  StopOnSignal signals;
  auto sum = wal::generate_wal(o, &g_stop);
  if (!sum) {
    std::fprintf(stderr, "wal generate: %s\n", sum.status().to_string().c_str());
    return 1;
  }
  const auto& rec = sum->recovery;
  for (const auto& f : rec.removed_files) {
    std::fprintf(stderr, "wal generate: removed %s (torn segment header, no entries)\n", f.c_str());
  }
  if (!rec.truncated_file.empty()) {
    std::fprintf(stderr, "wal generate: cut a torn tail of %llu bytes off %s (now %llu bytes)\n",
                 static_cast<unsigned long long>(rec.truncated_bytes), rec.truncated_file.c_str(),
                 static_cast<unsigned long long>(rec.truncated_to));
  }
  std::printf(
      "wal generate: wrote %llu entries (%llu changes) to %s: %llu transactions committed, %llu "
      "aborted",
      static_cast<unsigned long long>(sum->entries), static_cast<unsigned long long>(sum->changes),
      o.dir.c_str(), static_cast<unsigned long long>(sum->txns_committed),
      static_cast<unsigned long long>(sum->txns_aborted));
  if (sum->entries > 0) {
    std::printf("; sequences %llu..%llu\n", static_cast<unsigned long long>(sum->first_sequence),
                static_cast<unsigned long long>(sum->last_sequence));
  } else {
    std::printf("\n");
  }
  return 0;
}

int run_dump(const DumpArgs& a) {
  WalReaderOptions ro;
  ro.dir = a.dir;
  ro.start_sequence = a.from;
  auto reader = WalReader::open(ro);
  if (!reader) {
    std::fprintf(stderr, "wal dump: %s\n", reader.status().to_string().c_str());
    return 1;
  }
  std::unique_ptr<StopOnSignal> signals;
  if (a.follow) signals = std::make_unique<StopOnSignal>();
  Out out;
  std::string scratch;
  DumpSummary summary;
  bool json = a.format == "json";
  uint64_t n = 0;
  int rc = 0;
  WalEntry e;
  while (a.limit == 0 || n < a.limit) {
    auto r = (*reader)->next(e);
    if (!r) {
      out.flush();
      std::fprintf(stderr, "wal dump: %s\n", r.status().to_string().c_str());
      rc = 1;
      break;
    }
    if (*r == WalReadStatus::kEndOfLog) {
      if (!a.follow || g_stop.load()) break;
      out.flush();
      (*reader)->wait_for_data(std::chrono::milliseconds(200));
      if (g_stop.load()) break;
      continue;
    }
    ++n;
    if (a.summary)
      summary.add(e);
    else if (json)
      print_json(out, e, scratch);
    else
      print_text(out, e);
  }
  if (a.summary) {
    auto segs = list_wal_segments(a.dir);
    uint64_t bytes = 0;
    size_t count = 0;
    if (segs) {
      count = segs->size();
      for (const auto& s : *segs) bytes += s.size_bytes;
    }
    char line[256];
    std::snprintf(line, sizeof line, "WAL %s: %zu segment(s), %llu bytes\n", a.dir.c_str(), count,
                  static_cast<unsigned long long>(bytes));
    out << line;
    if (summary.entries == 0) {
      out << "entries: 0\n";
    } else {
      std::snprintf(line, sizeof line, "entries: %llu (sequences %llu..%llu)\n",
                    static_cast<unsigned long long>(summary.entries),
                    static_cast<unsigned long long>(summary.first),
                    static_cast<unsigned long long>(summary.last));
      out << line << "by kind:";
      for (const auto& [k, v] : summary.by_kind) {
        out << ' ' << k << '=';
        out.num(v);
      }
      out << "\nby table:";
      for (const auto& [k, v] : summary.by_table) {
        out << ' ';
        append_readable(out, k);
        out << '=';
        out.num(v);
      }
      std::snprintf(line, sizeof line, "\ntransactions: %llu committed, %llu aborted\n",
                    static_cast<unsigned long long>(summary.committed),
                    static_cast<unsigned long long>(summary.aborted));
      out << line;
    }
  }
  return rc;
}

}  // namespace

void register_wal_commands(CLI::App& app, CliContext& ctx) {
  CLI::App* wal = app.add_subcommand("wal", "Generate or inspect a HeliosDB WAL directory");
  wal->require_subcommand(1);

  auto gen_args = std::make_shared<GenerateArgs>();
  CLI::App* gen = wal->add_subcommand(
      "generate",
      "Append a realistic synthetic workload (transactions of inserts, updates, deletes; a share\n"
      "aborted) to a WAL directory, continuing its sequence. Prints a summary.");
  auto& g = *gen_args;
  gen->add_option("--dir", g.o.dir, "WAL directory (created if missing)")->required();
  gen->add_option("--database", g.o.database, "Database name written into every entry")
      ->capture_default_str();
  gen->add_option_function<uint64_t>(
         "--events",
         [gen_args](const uint64_t& v) {
           gen_args->events = v;
           gen_args->events_set = true;
         },
         "Change entries (INSERT/UPDATE/DELETE) to write; required unless --follow")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  gen->add_option("--tables", g.o.tables, "Comma-separated table names")
      ->delimiter(',')
      ->capture_default_str();
  gen->add_option("--txn-size", g.o.txn_size, "Mean changes per transaction")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str();
  gen->add_option("--abort-ratio", g.o.abort_ratio, "Share of transactions that abort (0..1)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  gen->add_option("--truncate-ratio", g.o.truncate_ratio,
                  "Share of changes that are TRUNCATE (0..1)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  gen->add_option("--value-bytes", g.o.value_bytes, "Size of a row value (a JSON object, padded)")
      ->check(CLI::Range(0u, 64u * 1024 * 1024))
      ->capture_default_str();
  gen->add_option("--segment-bytes", g.o.segment_bytes,
                  "Rotate segments at this size (e.g. 67108864, 64MiB)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  gen->add_option("--seed", g.o.seed, "Seed: the same seed gives the same workload")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  gen->add_option("--rate", g.o.rate, "Change entries per second (0 = as fast as possible)")
      ->type_name("EVENTS_PER_S")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  gen->add_flag(
      "--follow", g.o.follow,
      "Keep appending like a live server (at --rate, default 100/s) until SIGINT/SIGTERM");
  gen->add_option("--interleave", g.o.interleave, "Transactions open at the same time")
      ->check(CLI::Range(1u, 1000u))
      ->capture_default_str();
  gen->add_option("--sync", g.sync, "fsync policy: every (entry), interval (100 ms), never")
      ->check(CLI::IsMember({"every", "interval", "never"}))
      ->capture_default_str();
  gen->add_option("--start-time-ms", g.start_time_ms,
                  "Fixed timestamps: entry i gets MS+i (default: the wall clock)")
      ->type_name("MS")
      ->check(CLI::NonNegativeNumber);
  gen->callback([gen_args, &ctx] {
    restore_default_signals();  // served by `run` only (operator_signals.h)
    ctx.exit_code = run_generate(*gen_args);
  });

  auto dump_args = std::make_shared<DumpArgs>();
  CLI::App* dump = wal->add_subcommand(
      "dump",
      "Print the entries of a WAL directory. A torn tail (writer busy or crashed) ends the dump\n"
      "cleanly; corruption exits 1 naming the file and byte offset.");
  auto& d = *dump_args;
  dump->add_option("--dir", d.dir, "WAL directory")->required();
  dump->add_option("--from", d.from, "First sequence to print (default: the oldest entry)")
      ->type_name("SEQ")
      ->check(CLI::NonNegativeNumber);
  dump->add_option("--limit", d.limit, "Print at most N entries (default: all)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  dump->add_option("--format", d.format, "text or json (one JSON object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  dump->add_flag("--follow", d.follow, "Wait for new entries until SIGINT/SIGTERM");
  dump->add_flag("--summary", d.summary,
                 "Print counts by kind, table and transaction outcome instead of entries");
  dump->callback([dump_args, &ctx] {
    restore_default_signals();  // served by `run` only (operator_signals.h)
    ctx.exit_code = run_dump(*dump_args);
  });
}

}  // namespace heliosdb::cdc::cli
