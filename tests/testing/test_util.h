// Helpers shared by the tests: temporary directories, files, running the CLI.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace heliosdb::cdc::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content);
std::vector<std::string> read_lines(const std::string& path);

struct CommandResult {
  int exit_code = -1;  // exit status, or 128+signal
  std::string out;     // stdout
  std::string err;     // stderr
};
// Runs argv (argv[0] is a path) with stdin from /dev/null, capturing output.
CommandResult run_command(const std::vector<std::string>& argv);
// Runs the heliosdb-cdc binary built with the tests.
CommandResult run_cli(const std::vector<std::string>& args);

// Starts argv (argv[0] is a path) in the background with stdout and stderr
// appended to `log_path`; returns its pid.
pid_t spawn_with_log(const std::vector<std::string>& argv, const std::string& log_path);
// The same with stdout appended to `stdout_path` and stderr to `stderr_path`.
pid_t spawn_with_output(const std::vector<std::string>& argv, const std::string& stdout_path,
                        const std::string& stderr_path);
// Waits for `pid`: its exit status, or 128+signal.
int wait_exit(pid_t pid);
// Number of newline-terminated lines in a file (a torn last line not counted).
size_t count_complete_lines(const std::string& path);

// A TCP port on 127.0.0.1 that nothing listened on a moment ago (the kernel's
// pick for port 0), for a daemon the test starts.
int free_loopback_port();
// Standard base64 with padding, written here independently of the library's
// encoder so tests do not check the product against itself.
std::string base64(std::string_view bytes);

// Path of the heliosdb-cdc binary and of the source tree.
std::string cli_path();
std::string source_dir();
std::string build_dir();

}  // namespace heliosdb::cdc::testing
