// Errors as values: Status and Result<T>.
//
// The library never throws across its public API. Every fallible call returns
// a Status (no value) or a Result<T> (a value or an error). An error carries a
// code that tells the caller whether retrying can help, and a message written
// for a human (it names the file, key, offset or option that is wrong).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace heliosdb::cdc {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,     // bad input from the caller (API misuse, bad option value)
  kConfig,              // bad configuration file (unknown key, wrong type, ...)
  kNotFound,            // file, topic, stream, sequence that does not exist
  kIo,                  // operating-system I/O error
  kCorruption,          // bytes on disk or wire fail validation
  kUnavailable,         // transient: broker/endpoint down, throttled; retry may succeed
  kTimeout,             // transient: an operation did not finish in time
  kPermissionDenied,    // authentication / authorization rejected: fatal
  kFailedPrecondition,  // state does not allow it (e.g. checkpoint beyond WAL)
  kCancelled,           // stopped on request
  kInternal,            // a bug or an unexpected state
};

// Name of the code, e.g. "corruption".
std::string_view error_code_name(ErrorCode code);

// True for errors where the same call may succeed later.
constexpr bool is_retriable(ErrorCode code) {
  return code == ErrorCode::kUnavailable || code == ErrorCode::kTimeout;
}

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == ErrorCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool retriable() const { return is_retriable(code_); }

  // "corruption: <message>"
  std::string to_string() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status with_context(std::string_view context) const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// Shorthand constructors.
Status invalid_argument(std::string message);
Status config_error(std::string message);
Status not_found(std::string message);
Status io_error(std::string message);
Status corruption(std::string message);
Status unavailable(std::string message);
Status internal_error(std::string message);
// An I/O error for `what` (e.g. "open /x/y") with strerror(errnum) appended.
Status errno_status(std::string_view what, int errnum);

// A value of type T or an error Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.is_ok() && "Result constructed from an OK status without a value");
    if (status_.is_ok()) status_ = Status(ErrorCode::kInternal, "Result from OK status");
  }

  bool is_ok() const { return value_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace heliosdb::cdc

// Propagates an error Status from an expression returning Status.
#define HELIOSDB_RETURN_IF_ERROR(expr)    \
  do {                                    \
    ::heliosdb::cdc::Status _st = (expr); \
    if (!_st.is_ok()) return _st;         \
  } while (0)
