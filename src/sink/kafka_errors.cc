#include "sink/kafka_errors.h"

namespace heliosdb::cdc::kafka {

bool is_message_too_large(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
         err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

bool is_fatal_client_error(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__FATAL || err == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
         err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED || err == RD_KAFKA_RESP_ERR__SSL;
}

namespace {

std::string describe(const MessageContext& msg) {
  std::string s;
  if (!msg.event_id.empty()) {
    s += "event " + std::string(msg.event_id);
    if (!msg.sequence.empty()) s += " (sequence " + std::string(msg.sequence) + ")";
    s += " ";
  }
  s += "to topic '" + std::string(msg.topic) + "'";
  if (msg.partition >= 0) s += " partition " + std::to_string(msg.partition);
  return s;
}

}  // namespace

Status delivery_failure(rd_kafka_resp_err_t err, const MessageContext& msg,
                        std::string_view brokers, std::string_view detail) {
  std::string what = describe(msg);
  std::string cause = std::string(rd_kafka_err2name(err)) + ": " + rd_kafka_err2str(err);
  if (!detail.empty()) cause += " (" + std::string(detail) + ")";
  switch (err) {
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return Status(ErrorCode::kNotFound,
                    "Kafka topic '" + std::string(msg.topic) + "' does not exist on brokers '" +
                        std::string(brokers) +
                        "' and the brokers did not create it (auto.create.topics.enable is off); "
                        "create the topic, e.g. kafka-topics.sh --create --topic " +
                        std::string(msg.topic) + " [" + cause + "]");
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
      return Status(ErrorCode::kPermissionDenied,
                    "not authorized to write " + what +
                        ": grant the WRITE (and DESCRIBE) ACL on the topic to this client's "
                        "principal [" +
                        cause + "]");
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
      return Status(ErrorCode::kPermissionDenied,
                    "not authorized on the Kafka cluster while producing " + what +
                        ": the idempotent producer needs the IDEMPOTENT_WRITE cluster ACL "
                        "(or set enable_idempotence = false) [" +
                        cause + "]");
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
      return Status(ErrorCode::kPermissionDenied,
                    "authentication with Kafka brokers '" + std::string(brokers) +
                        "' failed while producing " + what +
                        ": check sasl.username / sasl.password / ssl.* in "
                        "[sink.kafka.properties] [" +
                        cause + "]");
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
      return Status(ErrorCode::kInvalidArgument,
                    what + " is " + std::to_string(msg.bytes) +
                        " bytes, larger than Kafka accepts (producer message.max.bytes or the "
                        "topic's max.message.bytes); raise the limits, or set "
                        "on_message_too_large = \"skip\" to drop such events [" +
                        cause + "]");
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
      return Status(ErrorCode::kTimeout,
                    what + " was not delivered within message.timeout.ms; brokers '" +
                        std::string(brokers) + "' unreachable or overloaded [" + cause + "]");
    case RD_KAFKA_RESP_ERR__FATAL:
      return Status(ErrorCode::kFailedPrecondition,
                    "the Kafka producer hit a fatal error while producing " + what +
                        " and cannot go on without risking duplicates or reordering; "
                        "restart resumes from the last checkpoint [" +
                        cause + "]");
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
      return Status(ErrorCode::kCancelled, what + " was purged before delivery [" + cause + "]");
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
      return Status(ErrorCode::kCorruption, "the broker rejected " + what + " [" + cause + "]");
    default:
      return Status(ErrorCode::kInternal, "Kafka could not deliver " + what + " [" + cause + "]");
  }
}

}  // namespace heliosdb::cdc::kafka
