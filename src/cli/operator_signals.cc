#include "cli/operator_signals.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "common/thread_name.h"

namespace heliosdb::cdc::cli {
namespace {

constexpr int kOperatorSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};

// What the process started with, for restore_default_signals().
sigset_t g_mask_at_start;
struct sigaction g_sigpipe_at_start;
bool g_blocked = false;

}  // namespace

sigset_t operator_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  for (int signo : kOperatorSignals) sigaddset(&set, signo);
  return set;
}

void block_operator_signals() {
  const sigset_t set = operator_signal_set();
  if (pthread_sigmask(SIG_BLOCK, &set, &g_mask_at_start) != 0) return;
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, &g_sigpipe_at_start);
  g_blocked = true;
}

void restore_default_signals() {
  if (!g_blocked) return;
  sigaction(SIGPIPE, &g_sigpipe_at_start, nullptr);
  pthread_sigmask(SIG_SETMASK, &g_mask_at_start, nullptr);
  g_blocked = false;
}

std::string_view signal_name(int signo) {
  switch (signo) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGHUP:
      return "SIGHUP";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGUSR2:
      return "SIGUSR2";
    case SIGPIPE:
      return "SIGPIPE";
    default:
      return "signal";
  }
}

Result<std::unique_ptr<SignalThread>> SignalThread::start(Handler handler) {
  std::unique_ptr<SignalThread> t(new SignalThread(std::move(handler)));
  const sigset_t set = operator_signal_set();
  // A signal pending on this thread only (sent to it with tgkill() or
  // raise(), e.g. before the exec) is invisible to a signalfd read on
  // another thread: take every pending one, then pass them on to the process.
  const timespec no_wait{};
  sigset_t pending;
  sigemptyset(&pending);
  for (int signo; (signo = sigtimedwait(&set, nullptr, &no_wait)) > 0;) sigaddset(&pending, signo);
  for (int signo : kOperatorSignals) {
    if (sigismember(&pending, signo)) ::kill(::getpid(), signo);
  }
  t->signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC);
  if (t->signal_fd_ < 0) return errno_status("signalfd", errno);
  t->wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (t->wake_fd_ < 0) return errno_status("eventfd", errno);
  t->thread_ = std::thread([p = t.get()] {
    name_this_thread("cdc-signals");
    p->loop();
  });
  return t;
}

SignalThread::~SignalThread() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    // Cannot fail for an eventfd below its maximum count.
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  if (signal_fd_ >= 0) ::close(signal_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void SignalThread::loop() {
  pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (true) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    signalfd_siginfo info;
    ssize_t n = ::read(signal_fd_, &info, sizeof info);
    if (n == static_cast<ssize_t>(sizeof info)) handler_(static_cast<int>(info.ssi_signo));
  }
}

}  // namespace heliosdb::cdc::cli
