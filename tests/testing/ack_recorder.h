// An AckReceiver for tests: records every ticket's fate (acknowledged or
// failed, with the reason) and fails the running test when a ticket is
// reported twice, since a sink must resolve each ticket exactly once.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "heliosdb/cdc/sink.h"
#include "heliosdb/cdc/status.h"

namespace heliosdb::cdc::testing {

class AckRecorder : public AckReceiver {
 public:
  void acknowledge(uint64_t first, uint64_t count) override {
    std::lock_guard lock(mu_);
    ++ack_calls_;
    for (uint64_t t = first; t < first + count; ++t) {
      EXPECT_EQ(fate_.count(t), 0u) << "ticket " << t << " resolved twice";
      fate_[t] = true;
      order_.push_back(t);
    }
  }
  void fail(uint64_t ticket, Status reason) override {
    std::lock_guard lock(mu_);
    EXPECT_EQ(fate_.count(ticket), 0u) << "ticket " << ticket << " resolved twice";
    fate_[ticket] = false;
    reasons_[ticket] = std::move(reason);
  }

  // Acknowledged tickets, sorted.
  std::set<uint64_t> acked() const {
    std::lock_guard lock(mu_);
    std::set<uint64_t> out;
    for (auto& [t, ok] : fate_)
      if (ok) out.insert(t);
    return out;
  }
  // Acknowledged tickets in the order the sink reported them.
  std::vector<uint64_t> acked_in_order() const {
    std::lock_guard lock(mu_);
    return order_;
  }
  size_t acked_count() const {
    std::lock_guard lock(mu_);
    return order_.size();
  }
  // Failed tickets with their reasons.
  std::map<uint64_t, Status> failed() const {
    std::lock_guard lock(mu_);
    return reasons_;
  }
  // The failure reasons as text, in ticket order.
  std::vector<std::string> failure_texts() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (auto& [t, r] : reasons_)
      out.push_back("ticket " + std::to_string(t) + ": " + r.to_string());
    return out;
  }
  // Tickets acknowledged or failed.
  size_t resolved() const {
    std::lock_guard lock(mu_);
    return fate_.size();
  }
  size_t ack_calls() const {
    std::lock_guard lock(mu_);
    return ack_calls_;
  }
  // true: acknowledged, false: failed, nullopt: not reported (yet).
  std::optional<bool> fate(uint64_t t) const {
    std::lock_guard lock(mu_);
    auto it = fate_.find(t);
    if (it == fate_.end()) return std::nullopt;
    return it->second;
  }
  Status reason(uint64_t t) const {
    std::lock_guard lock(mu_);
    auto it = reasons_.find(t);
    return it == reasons_.end() ? Status::ok() : it->second;
  }
  // The checkpoint the processor would take from tickets numbered from
  // `from`: the first ticket not yet acknowledged.
  uint64_t checkpoint(uint64_t from = 0) const {
    std::lock_guard lock(mu_);
    uint64_t t = from;
    while (true) {
      auto it = fate_.find(t);
      if (it == fate_.end() || !it->second) return t;
      ++t;
    }
  }
  // Tickets [first, first+count) all acknowledged, none failed, nothing else
  // reported (double reports already failed the test as they came).
  void expect_each_acknowledged_once(uint64_t first, size_t count) const {
    std::lock_guard lock(mu_);
    EXPECT_TRUE(reasons_.empty()) << reasons_.size() << " failed, first ticket "
                                  << reasons_.begin()->first << ": "
                                  << reasons_.begin()->second.to_string();
    for (uint64_t t = first; t < first + count; ++t) {
      auto it = fate_.find(t);
      EXPECT_TRUE(it != fate_.end() && it->second) << "ticket " << t << " not acknowledged";
    }
    size_t outside = 0;
    for (auto& [t, ok] : fate_) outside += t < first || t >= first + count;
    EXPECT_EQ(outside, 0u) << "tickets reported that were never sent";
  }

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, bool> fate_;
  std::map<uint64_t, Status> reasons_;
  std::vector<uint64_t> order_;
  size_t ack_calls_ = 0;
};

}  // namespace heliosdb::cdc::testing
