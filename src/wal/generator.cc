#include "wal/generator.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "common/wall_clock.h"
#include "wal/wal_files.h"

namespace heliosdb::cdc::wal {
namespace {

// splitmix64: small, fast, and identical everywhere (unlike std:: distributions).
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
  double unit() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
};

uint64_t mix(uint64_t a, uint64_t b) {
  Rng r(a ^ (b * 0x9e3779b97f4a7c15ull));
  return r.next();
}

constexpr const char* kFirst[] = {
    "Alice",   "Bob",  "Carol",  "Dave",  "Erin",   "Frank", "Grace", "Heidi",  "Ivan",   "Judy",
    "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Zoe"};
constexpr const char* kLast[] = {"Smith",  "Jones", "Garcia", "Miller", "Davis",  "Lopez",
                                 "Wilson", "Moore", "Taylor", "Lee",    "Walker", "Young"};
constexpr const char* kStatus[] = {"active", "pending", "suspended", "closed"};
constexpr const char* kWords[] = {"lorem",      "ipsum", "dolor", "sit", "amet",    "consectetur",
                                  "adipiscing", "elit",  "sed",   "do",  "eiusmod", "tempor"};
constexpr size_t kMaxLiveRowsPerTable = 100000;

struct Row {
  uint64_t id = 0;
  uint32_t version = 0;
  uint32_t live_pos = 0;
  bool locked = false;
};

struct Table {
  std::string name;
  std::string key_prefix;  // "users" -> "user"
  std::vector<Row> rows;   // slots
  std::vector<uint32_t> free_slots;
  std::vector<uint32_t> live;  // slots of existing rows
};

struct Mutation {
  WalEntryKind kind;
  uint32_t table;
  uint32_t slot = 0;  // update/delete
  uint64_t id = 0;    // insert
};

struct Txn {
  uint64_t id = 0;
  uint32_t planned = 0;
  uint32_t done = 0;
  bool abort = false;
  std::vector<Mutation> muts;
};

class Workload {
 public:
  Workload(const GeneratorOptions& o, WalWriter& w) : o_(o), w_(w) {
    uint64_t base = w.next_sequence();
    rng_ = Rng(mix(o.seed, base));
    next_txn_id_ = base;
    next_row_id_ = base;
    for (const auto& name : o.tables) {
      Table t;
      t.name = name;
      t.key_prefix = name;
      if (t.key_prefix.size() > 1 && t.key_prefix.back() == 's') t.key_prefix.pop_back();
      tables_.push_back(std::move(t));
    }
  }

  Status run(const std::atomic<bool>* stop, const std::function<void(const WalEntry&)>& on_entry,
             GeneratorSummary* sum) {
    on_entry_ = on_entry;
    sum_ = sum;
    double rate = o_.rate > 0 ? o_.rate : (o_.follow ? 100.0 : 0.0);
    auto t0 = std::chrono::steady_clock::now();
    auto last_write = t0;
    for (;;) {
      bool stopped = stop && stop->load(std::memory_order_relaxed);
      bool want_more = !stopped && (o_.follow || sum->changes < o_.events);
      if (!want_more && open_.empty()) break;
      if (stopped || !want_more) {
        HELIOSDB_RETURN_IF_ERROR(end_txn(open_.size() - 1));
        continue;
      }
      if (open_.empty() || (open_.size() < o_.interleave && rng_.below(2) == 0)) {
        HELIOSDB_RETURN_IF_ERROR(begin_txn());
        continue;
      }
      size_t i = rng_.below(open_.size());
      if (open_[i].done >= open_[i].planned) {
        HELIOSDB_RETURN_IF_ERROR(end_txn(i));
        continue;
      }
      if (rate > 0) {
        auto due =
            t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                     std::chrono::duration<double>(static_cast<double>(sum->changes) / rate));
        auto now = std::chrono::steady_clock::now();
        if (now < due) {
          // Paced in 1 ms ticks: everything due so far was appended (each
          // entry stamped as it was appended) and is now written with one
          // write(), then we sleep to the next tick. Sleeping until each
          // change's own due time (20 us apart at 50,000/s) cost a wake-up
          // and a write() per entry -- half a core at 50,000 changes/s, on
          // the same CPUs as the pipeline being measured -- and the sleeps
          // overshoot by the timer slack anyway.
          HELIOSDB_RETURN_IF_ERROR(w_.flush_writes());
          auto wake = std::max(due, now + std::chrono::milliseconds(1));
          while ((now = std::chrono::steady_clock::now()) < wake) {
            if (stop && stop->load(std::memory_order_relaxed)) break;
            std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
                wake - now, std::chrono::milliseconds(50)));
          }
          last_write = now;
          if (stop && stop->load(std::memory_order_relaxed)) continue;
        } else if (now - last_write >= std::chrono::milliseconds(1)) {
          // Behind schedule: still write at least once per tick.
          HELIOSDB_RETURN_IF_ERROR(w_.flush_writes());
          last_write = now;
        }
      }
      HELIOSDB_RETURN_IF_ERROR(change(open_[i]));
    }
    return Status::ok();
  }

 private:
  int64_t timestamp() {
    return o_.start_time_ms ? *o_.start_time_ms + static_cast<int64_t>(sum_->entries)
                            : wall_clock_ms();
  }

  Status append(WalEntry& e) {
    e.timestamp_ms = timestamp();
    e.database = o_.database;
    auto seq = w_.append(e);
    if (!seq) return seq.status();
    e.sequence = *seq;
    if (sum_->first_sequence == 0) sum_->first_sequence = *seq;
    sum_->last_sequence = *seq;
    ++sum_->entries;
    if (on_entry_) on_entry_(e);
    return Status::ok();
  }

  Status begin_txn() {
    Txn t;
    t.id = next_txn_id_++;
    uint32_t k = o_.txn_size;
    t.planned = k <= 1 ? 1 : 1 + static_cast<uint32_t>(rng_.below(2 * k - 1));
    t.abort = rng_.unit() < o_.abort_ratio;
    WalEntry e;
    e.kind = WalEntryKind::Begin;
    e.transaction_id = t.id;
    HELIOSDB_RETURN_IF_ERROR(append(e));
    open_.push_back(std::move(t));
    return Status::ok();
  }

  Status end_txn(size_t i) {
    Txn& t = open_[i];
    WalEntry e;
    e.kind = t.abort ? WalEntryKind::Abort : WalEntryKind::Commit;
    e.transaction_id = t.id;
    HELIOSDB_RETURN_IF_ERROR(append(e));
    for (const Mutation& m : t.muts) {
      Table& tb = tables_[m.table];
      switch (m.kind) {
        case WalEntryKind::Insert:
          if (!t.abort) add_row(tb, m.id);
          break;
        case WalEntryKind::Update:
          tb.rows[m.slot].locked = false;
          if (!t.abort) ++tb.rows[m.slot].version;
          break;
        case WalEntryKind::Delete:
          tb.rows[m.slot].locked = false;
          if (!t.abort) remove_row(tb, m.slot);
          break;
        case WalEntryKind::Truncate:
          // Remove the live rows but keep slots valid: rows locked by other
          // open transactions are still referenced by slot.
          if (!t.abort) {
            std::vector<uint32_t> live = tb.live;
            for (uint32_t slot : live) {
              if (!tb.rows[slot].locked) remove_row(tb, slot);
            }
          }
          break;
        default:
          break;
      }
    }
    (t.abort ? sum_->txns_aborted : sum_->txns_committed)++;
    open_.erase(open_.begin() + static_cast<long>(i));
    return Status::ok();
  }

  static void add_row(Table& tb, uint64_t id) {
    uint32_t slot;
    if (!tb.free_slots.empty()) {
      slot = tb.free_slots.back();
      tb.free_slots.pop_back();
    } else {
      slot = static_cast<uint32_t>(tb.rows.size());
      tb.rows.emplace_back();
    }
    Row& r = tb.rows[slot];
    r.id = id;
    r.version = 1;
    r.locked = false;
    r.live_pos = static_cast<uint32_t>(tb.live.size());
    tb.live.push_back(slot);
  }

  static void remove_row(Table& tb, uint32_t slot) {
    uint32_t pos = tb.rows[slot].live_pos;
    uint32_t last = tb.live.back();
    tb.live[pos] = last;
    tb.rows[last].live_pos = pos;
    tb.live.pop_back();
    tb.free_slots.push_back(slot);
  }

  // An unlocked existing row of `tb`, if one is found quickly.
  std::optional<uint32_t> pick_row(Table& tb) {
    for (int attempt = 0; attempt < 4 && !tb.live.empty(); ++attempt) {
      uint32_t slot = tb.live[rng_.below(tb.live.size())];
      if (!tb.rows[slot].locked) return slot;
    }
    return std::nullopt;
  }

  Status change(Txn& t) {
    uint32_t ti = static_cast<uint32_t>(rng_.below(tables_.size()));
    Table& tb = tables_[ti];
    double r = rng_.unit();
    WalEntryKind kind;
    if (r < o_.truncate_ratio) {
      kind = WalEntryKind::Truncate;
      for (const Row& row : tb.rows) {
        if (row.locked) kind = WalEntryKind::Insert;  // never truncate under another txn
      }
    } else {
      double x = rng_.unit();
      kind = x < 0.45   ? WalEntryKind::Insert
             : x < 0.85 ? WalEntryKind::Update
                        : WalEntryKind::Delete;
      if (tb.live.size() >= kMaxLiveRowsPerTable && kind == WalEntryKind::Insert) {
        kind = WalEntryKind::Delete;
      }
    }
    std::optional<uint32_t> slot;
    // After a TRUNCATE of this table in the same transaction, its old rows
    // are gone: only inserts make sense.
    if (kind != WalEntryKind::Insert) {
      for (const Mutation& prior : t.muts) {
        if (prior.kind == WalEntryKind::Truncate && prior.table == ti) kind = WalEntryKind::Insert;
      }
    }
    if (kind == WalEntryKind::Update || kind == WalEntryKind::Delete) {
      slot = pick_row(tb);
      if (!slot) kind = WalEntryKind::Insert;
    }
    WalEntry e;
    e.kind = kind;
    e.transaction_id = t.id;
    e.table = tb.name;
    Mutation m{kind, ti};
    switch (kind) {
      case WalEntryKind::Insert:
        m.id = next_row_id_++;
        make_key(tb, m.id);
        make_value(value_, ti, m.id, 1);
        e.value = value_;
        break;
      case WalEntryKind::Update: {
        Row& row = tb.rows[*slot];
        row.locked = true;
        m.slot = *slot;
        make_key(tb, row.id);
        make_value(old_value_, ti, row.id, row.version);
        make_value(value_, ti, row.id, row.version + 1);
        e.value = value_;
        e.old_value = old_value_;
        break;
      }
      case WalEntryKind::Delete: {
        Row& row = tb.rows[*slot];
        row.locked = true;
        m.slot = *slot;
        make_key(tb, row.id);
        make_value(old_value_, ti, row.id, row.version);
        e.old_value = old_value_;
        break;
      }
      default:  // TRUNCATE: the whole table, no key
        key_.clear();
        break;
    }
    e.key = key_;
    HELIOSDB_RETURN_IF_ERROR(append(e));
    t.muts.push_back(m);
    ++t.done;
    ++sum_->changes;
    return Status::ok();
  }

  void make_key(const Table& tb, uint64_t id) {
    key_ = tb.key_prefix;
    key_ += std::to_string(id);
  }

  // The row image of (table, id, version): a pure function of the seed.
  void make_value(std::string& out, uint32_t table, uint64_t id, uint32_t version) {
    Rng r(mix(mix(o_.seed, table), mix(id, version)));
    const char* first = kFirst[r.below(std::size(kFirst))];
    const char* last = kLast[r.below(std::size(kLast))];
    char buf[512];
    int n = std::snprintf(buf, sizeof buf,
                          "{\"id\":%llu,\"name\":\"%s %s\",\"email\":\"%s.%s%llu@example.com\","
                          "\"status\":\"%s\",\"balance\":%llu.%02llu,\"version\":%u",
                          static_cast<unsigned long long>(id), first, last, first, last,
                          static_cast<unsigned long long>(id), kStatus[r.below(4)],
                          static_cast<unsigned long long>(r.below(100000)),
                          static_cast<unsigned long long>(r.below(100)), version);
    out.assign(buf, static_cast<size_t>(n));
    constexpr std::string_view kNote = ",\"note\":\"";
    size_t target = o_.value_bytes;
    if (out.size() + kNote.size() + 2 < target) {
      out += kNote;
      size_t pad = target - out.size() - 2;  // room for the closing quote and brace
      while (pad > 0) {
        std::string_view w = kWords[r.below(std::size(kWords))];
        if (w.size() + 1 > pad) {
          out.append(pad, 'x');
          break;
        }
        out += w;
        out += ' ';
        pad -= w.size() + 1;
      }
      out += '"';
    }
    out += '}';
  }

  const GeneratorOptions& o_;
  WalWriter& w_;
  Rng rng_{0};
  uint64_t next_txn_id_ = 1;
  uint64_t next_row_id_ = 1;
  std::vector<Table> tables_;
  std::vector<Txn> open_;
  std::string key_, value_, old_value_;
  std::function<void(const WalEntry&)> on_entry_;
  GeneratorSummary* sum_ = nullptr;
};

}  // namespace

std::string validate_generator_options(const GeneratorOptions& o) {
  if (o.dir.empty()) return "dir must not be empty";
  if (o.database.empty()) return "database must not be empty";
  if (o.tables.empty()) return "at least one table is needed";
  for (const auto& t : o.tables) {
    if (t.empty()) return "table names must not be empty";
  }
  if (o.txn_size == 0) return "txn_size must be >= 1";
  if (!(o.abort_ratio >= 0 && o.abort_ratio <= 1)) return "abort_ratio must be within [0, 1]";
  if (!(o.truncate_ratio >= 0 && o.truncate_ratio <= 1))
    return "truncate_ratio must be within [0, 1]";
  if (!(o.rate >= 0)) return "rate must be >= 0";
  if (o.interleave == 0) return "interleave must be >= 1";
  if (o.segment_bytes == 0) return "segment_bytes must be > 0";
  if (o.value_bytes > 64u * 1024 * 1024) return "value_bytes must be <= 64 MiB";
  return "";
}

Result<GeneratorSummary> generate_wal(const GeneratorOptions& options,
                                      const std::atomic<bool>* stop,
                                      const std::function<void(const WalEntry&)>& on_entry) {
  std::string problem = validate_generator_options(options);
  if (!problem.empty()) return invalid_argument("wal generate: " + problem);
  WalWriterOptions wo;
  wo.dir = options.dir;
  wo.segment_bytes = options.segment_bytes;
  wo.sync_policy = options.sync_policy;
  // Paced: entries are written once per tick (see Workload::run).
  wo.defer_writes = options.rate > 0 || options.follow;
  auto writer = WalWriter::open(wo);
  if (!writer) return writer.status();
  GeneratorSummary sum;
  sum.recovery = (*writer)->recovery_info();
  Workload w(options, **writer);
  Status st = w.run(stop, on_entry, &sum);
  Status closed = (*writer)->close();
  if (!st.is_ok()) return st;
  if (!closed.is_ok()) return closed;
  return sum;
}

}  // namespace heliosdb::cdc::wal
