// jemalloc's built-in options for the heliosdb-cdc executable. Compiled only
// when the executable is linked with jemalloc (CMakeLists.txt); MALLOC_CONF
// in the environment still overrides them.
//
// narenas:1 — one arena for all threads instead of jemalloc's default of four
// per CPU. librdkafka allocates each message and its headers on the sink
// thread, its broker thread allocates and frees message-set buffers, and with
// an arena per thread the memory freed by one thread's arena was purged and
// faulted in again by another's: ~45,000 minor page faults per million Kafka
// events with the default, ~11,000 with one arena, and less CPU per event
// (docs/performance.md, "Kafka sink"). The daemon has a handful of threads,
// each with its own thread cache, so one arena's lock is not contended.
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's interface.
const char* malloc_conf = "narenas:1";
}
