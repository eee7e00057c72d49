#include "heliosdb/cdc/filter.h"

namespace heliosdb::cdc {

// Placeholder engine until the filter module lands: no rules, keeps everything.
struct EventFilter::Impl {};

EventFilter::EventFilter() = default;
EventFilter::~EventFilter() = default;
EventFilter::EventFilter(const EventFilter&) = default;
EventFilter& EventFilter::operator=(const EventFilter&) = default;
EventFilter::EventFilter(EventFilter&&) noexcept = default;
EventFilter& EventFilter::operator=(EventFilter&&) noexcept = default;

bool EventFilter::empty() const { return true; }
bool EventFilter::apply(CdcEvent&) const { return true; }

}  // namespace heliosdb::cdc
