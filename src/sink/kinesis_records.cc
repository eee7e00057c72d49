#include "sink/kinesis_records.h"

#include "sink/aws/crypto.h"

namespace heliosdb::cdc::kinesis {

std::string partition_key_for_key(std::string_view key) {
  bool printable = !key.empty() && key.size() <= kMaxPartitionKeyLength;
  for (size_t i = 0; printable && i < key.size(); ++i) {
    auto c = static_cast<unsigned char>(key[i]);
    printable = c >= 0x20 && c <= 0x7E;
  }
  if (printable) return std::string(key);
  if (aws::base64_encoded_size(key.size()) + 4 <= kMaxPartitionKeyLength) {
    std::string out = "b64:";
    aws::base64_append(key, out);
    return out;
  }
  return "sha256:" + aws::sha256_hex(key);
}

std::string partition_key_for(const CdcEvent& event) {
  if (!event.key.empty()) return partition_key_for_key(event.key);
  return partition_key_for_key(event.database + "." + event.table);
}

bool retriable_record_error(std::string_view code) {
  return code == "ProvisionedThroughputExceededException" || code == "InternalFailure" ||
         code == "KMSThrottlingException" || code == "ServiceUnavailable" ||
         code == "MissingSequenceNumber";
}

}  // namespace heliosdb::cdc::kinesis
