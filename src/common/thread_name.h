// Names the calling thread (as `top -H`, `perf` and debuggers show it), so
// an operator can tell which of the daemon's threads is busy.
#pragma once

namespace heliosdb::cdc {

// `name` is cut to the kernel's limit of 15 characters.
void name_this_thread(const char* name);

}  // namespace heliosdb::cdc
