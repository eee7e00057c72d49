// EventFilter (include/exclude decision + ordered transforms) and FilterBuilder.
#include <utility>

#include "heliosdb/cdc/filter.h"

namespace heliosdb::cdc {

struct EventFilter::Impl {
  std::vector<FilterRule> rules;  // as added, for rules() and describe
  std::vector<TransformRule> transforms;
  // The same rules split by action, so apply() walks each list once.
  std::vector<FilterCondition> includes;
  std::vector<FilterCondition> excludes;
};

EventFilter::EventFilter() = default;
EventFilter::~EventFilter() = default;
EventFilter::EventFilter(const EventFilter&) = default;
EventFilter& EventFilter::operator=(const EventFilter&) = default;
EventFilter::EventFilter(EventFilter&&) noexcept = default;
EventFilter& EventFilter::operator=(EventFilter&&) noexcept = default;

// Copies share one Impl; the first change after a copy clones it (copy on
// write), so a filter handed to a processor never changes under it.
EventFilter::Impl& EventFilter::mutable_impl() {
  if (!impl_) {
    impl_ = std::make_shared<Impl>();
  } else if (impl_.use_count() > 1) {
    impl_ = std::make_shared<Impl>(*impl_);
  }
  return *impl_;
}

EventFilter& EventFilter::add_rule(FilterRule rule) & {
  Impl& m = mutable_impl();
  (rule.action() == FilterRule::Action::kInclude ? m.includes : m.excludes)
      .push_back(rule.condition());
  m.rules.push_back(std::move(rule));
  return *this;
}

EventFilter&& EventFilter::add_rule(FilterRule rule) && {
  add_rule(std::move(rule));
  return std::move(*this);
}

EventFilter& EventFilter::add_transform(TransformRule transform) & {
  mutable_impl().transforms.push_back(std::move(transform));
  return *this;
}

EventFilter&& EventFilter::add_transform(TransformRule transform) && {
  add_transform(std::move(transform));
  return std::move(*this);
}

bool EventFilter::empty() const {
  return !impl_ || (impl_->rules.empty() && impl_->transforms.empty());
}

bool EventFilter::matches(const CdcEvent& event) const {
  if (!impl_) return true;
  const Impl& m = *impl_;
  if (!m.includes.empty()) {
    bool included = false;
    for (const auto& c : m.includes) {
      if (c.matches(event)) {
        included = true;
        break;
      }
    }
    if (!included) return false;
  }
  for (const auto& c : m.excludes) {
    if (c.matches(event)) return false;
  }
  return true;
}

bool EventFilter::apply(CdcEvent& event) const {
  if (!matches(event)) return false;
  if (impl_) {
    for (const auto& t : impl_->transforms) t.apply(event);
  }
  return true;
}

const std::vector<FilterRule>& EventFilter::rules() const {
  static const std::vector<FilterRule> kNone;
  return impl_ ? impl_->rules : kNone;
}

const std::vector<TransformRule>& EventFilter::transforms() const {
  static const std::vector<TransformRule> kNone;
  return impl_ ? impl_->transforms : kNone;
}

// ---- FilterBuilder ----

FilterBuilder& FilterBuilder::include_table(std::string name) {
  include_tables_.push_back(std::move(name));
  return *this;
}
FilterBuilder& FilterBuilder::exclude_table(std::string name) {
  exclude_tables_.push_back(std::move(name));
  return *this;
}
FilterBuilder& FilterBuilder::include_operations(const std::vector<OperationType>& ops) {
  include_ops_.insert(include_ops_.end(), ops.begin(), ops.end());
  return *this;
}
FilterBuilder& FilterBuilder::exclude_operations(const std::vector<OperationType>& ops) {
  exclude_ops_.insert(exclude_ops_.end(), ops.begin(), ops.end());
  return *this;
}
FilterBuilder& FilterBuilder::include_database(std::string name) {
  include_databases_.push_back(std::move(name));
  return *this;
}
FilterBuilder& FilterBuilder::exclude_database(std::string name) {
  exclude_databases_.push_back(std::move(name));
  return *this;
}

namespace {
FilterCondition one_of(const std::vector<std::string>& names, bool is_table) {
  if (!is_table) {
    std::vector<FilterCondition> dbs;
    for (const auto& n : names) dbs.push_back(FilterCondition::database(n));
    return dbs.size() == 1 ? dbs[0] : FilterCondition::any_of(std::move(dbs));
  }
  return names.size() == 1 ? FilterCondition::table(names[0]) : FilterCondition::tables(names);
}
}  // namespace

EventFilter FilterBuilder::build() const {
  EventFilter filter;
  // One include rule AND-ing the dimensions that were named.
  std::vector<FilterCondition> dims;
  if (!include_databases_.empty()) dims.push_back(one_of(include_databases_, false));
  if (!include_tables_.empty()) dims.push_back(one_of(include_tables_, true));
  if (!include_ops_.empty()) dims.push_back(FilterCondition::operations(include_ops_));
  if (dims.size() == 1) {
    filter.add_rule(FilterRule::include(dims[0]));
  } else if (dims.size() > 1) {
    filter.add_rule(FilterRule::include(FilterCondition::all_of(std::move(dims))));
  }
  if (!exclude_databases_.empty()) {
    filter.add_rule(FilterRule::exclude(one_of(exclude_databases_, false)));
  }
  if (!exclude_tables_.empty()) filter.add_rule(FilterRule::exclude(one_of(exclude_tables_, true)));
  if (!exclude_ops_.empty()) {
    filter.add_rule(FilterRule::exclude(FilterCondition::operations(exclude_ops_)));
  }
  return filter;
}

}  // namespace heliosdb::cdc
