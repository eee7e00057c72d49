// Builds against the installed headers and library and checks a few calls.
#include <heliosdb/cdc/config.h>
#include <heliosdb/cdc/serialization.h>

#include <cstdio>

int main() {
  auto config = heliosdb::cdc::CdcConfig::builder().database("mydb").build();
  if (!config || config->checkpoint_interval != 1000) return 1;
  heliosdb::cdc::CdcEvent event;
  event.event_id = heliosdb::cdc::make_event_id("mydb", 1);
  std::printf("%s\n", heliosdb::cdc::event_to_json(event).c_str());
  return 0;
}
