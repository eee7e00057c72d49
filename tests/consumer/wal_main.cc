// Links one module target (heliosdb_cdc::wal) and nothing else.
#include <heliosdb/cdc/wal.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  auto segments = heliosdb::cdc::list_wal_segments(argv[1]);
  if (!segments) return 1;
  std::printf("wal segments: %zu\n", segments->size());
  return 0;
}
