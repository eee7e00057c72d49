// libFuzzer target for the daemon's config file: the input is the text of a
// TOML file, read by parse_daemon_config() exactly as `run` and `config check`
// read a file ([cdc], [metrics], [schema_registry], every [sink.<type>],
// [filter] and [[transforms]]). Nothing is created or connected to.
//
// Invariants checked: no crash, hang, exception or sanitizer report; an
// invalid file is a kConfig status whose message names the file; a valid file
// gives a filter that describe_filter() prints and that can run on an event.
//
// toml++'s parser is the shipped one (Debian's libtomlplusplus, as the daemon
// links it), not instrumented: see tests/fuzz/CMakeLists.txt for why.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/daemon_config.h"
#include "filter/filter_config.h"
#include "heliosdb/cdc/event.h"

using namespace heliosdb::cdc;

namespace {

const std::string kFile = "fuzz.toml";

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Values the seeds refer to as ${VAR} and secret_env (hash_key wants >= 16 bytes).
  setenv("HELIOSDB_FUZZ_SECRET", "0123456789abcdef0123456789abcdef", 1);
  setenv("HELIOSDB_FUZZ_SHORT", "short", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto loaded = parse_daemon_config(text, kFile);
  if (!loaded.is_ok()) {
    const Status& st = loaded.status();
    if (st.code() != ErrorCode::kConfig) __builtin_trap();
    if (st.message().rfind(kFile, 0) != 0) __builtin_trap();  // errors name the file
    return 0;
  }
  const DaemonConfig& c = *loaded;
  if (!c.report || !c.report->ok() || !c.create_sink) __builtin_trap();
  if (c.cdc.database.empty() || c.cdc.buffer_size < c.cdc.batch_size) __builtin_trap();
  if (describe_filter(c.filter).empty()) __builtin_trap();

  CdcEvent e;
  e.operation = OperationType::Update;
  e.database = c.cdc.database;
  e.table = "users";
  e.key = "user:1";
  e.value = "{\"name\":\"a\"}";
  e.old_value = "{\"name\":\"b\"}";
  (void)c.filter.apply(e);
  return 0;
}
