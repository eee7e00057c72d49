// The check every source's checkpoint goes through before it is resumed.
#include "source/source.h"

namespace heliosdb::cdc {

Result<DeliveryPosition> SourcePositionCodec::resume_position(
    const SourcePosition& stored, const std::string& checkpoint_file) const {
  if (stored.source_type != source_type()) {
    return Status(ErrorCode::kFailedPrecondition,
                  "checkpoint file " + checkpoint_file + " was written by a \"" +
                      stored.source_type + "\" source, not by \"" + std::string(source_type()) +
                      "\" (" + description() + ")");
  }
  if (!stored.source_id.empty() && stored.source_id != source_id()) {
    return Status(ErrorCode::kFailedPrecondition,
                  "checkpoint file " + checkpoint_file + " belongs to identity " +
                      stored.source_id + ", but " + description() +
                      (source_id().empty() ? std::string(" has no identity")
                                           : " has identity " + source_id()) +
                      ": it was replaced or reset, and resuming would skip or repeat changes "
                      "(delete the checkpoint to read it from its oldest entry)");
  }
  auto position = decode(stored.position);
  if (!position) {
    return Status(ErrorCode::kCorruption, "checkpoint file " + checkpoint_file +
                                              " is damaged: " + position.status().message());
  }
  return position;
}

}  // namespace heliosdb::cdc
