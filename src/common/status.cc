#include "heliosdb/cdc/status.h"

#include <cstring>

namespace heliosdb::cdc {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kConfig:
      return "config error";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kIo:
      return "i/o error";
    case ErrorCode::kCorruption:
      return "corruption";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kPermissionDenied:
      return "permission denied";
    case ErrorCode::kFailedPrecondition:
      return "failed precondition";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "unknown error";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  std::string out(error_code_name(code_));
  out += ": ";
  out += message_;
  return out;
}

Status Status::with_context(std::string_view context) const {
  if (is_ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += message_;
  return Status(code_, std::move(msg));
}

Status invalid_argument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
Status config_error(std::string m) { return {ErrorCode::kConfig, std::move(m)}; }
Status not_found(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
Status io_error(std::string m) { return {ErrorCode::kIo, std::move(m)}; }
Status corruption(std::string m) { return {ErrorCode::kCorruption, std::move(m)}; }
Status unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
Status internal_error(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

Status errno_status(std::string_view what, int errnum) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(errnum);
  ErrorCode code = ErrorCode::kIo;
  if (errnum == ENOENT) code = ErrorCode::kNotFound;
  if (errnum == EACCES || errnum == EPERM) code = ErrorCode::kPermissionDenied;
  return Status(code, std::move(msg));
}

}  // namespace heliosdb::cdc
