// Internal construction of the Kinesis sink with injectable parts (tests put
// a fake KinesisApi behind it).
#pragma once

#include <functional>
#include <memory>

#include "heliosdb/cdc/kinesis.h"
#include "serde/serializer_factory.h"
#include "sink/kinesis_client.h"

namespace heliosdb::cdc::kinesis {

// Makes one API client; called once per lane (max_in_flight) at open().
using ApiFactory = std::function<Result<std::unique_ptr<KinesisApi>>()>;

struct ConnectorParts {
  std::unique_ptr<EventSerializer> serializer;
  ApiFactory api_factory;
  uint64_t jitter_seed = 0;  // 0: random
};

// The sink with explicit parts.
Result<std::unique_ptr<KinesisConnector>> make_kinesis_connector(KinesisOptions options,
                                                                 ConnectorParts parts);

// The sink with the real client: resolves credentials, makes the serializer.
Result<std::unique_ptr<KinesisConnector>> make_kinesis_connector(KinesisOptions options,
                                                                 const SerdeSettings& serde);

}  // namespace heliosdb::cdc::kinesis
