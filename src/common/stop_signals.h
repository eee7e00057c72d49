// The signals that ask the daemon to stop gracefully (SIGTERM, SIGINT), as a
// set for pthread_sigmask: the CLI blocks them at start-up and the processor
// unblocks them once its handlers are installed.
#pragma once

#include <signal.h>

namespace heliosdb::cdc {

inline sigset_t stop_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace heliosdb::cdc
