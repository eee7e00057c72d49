// Event filtering and transformation (the seed's "Event Filtering" and
// "Event Transformation"). The EventProcessor applies the filter to every
// committed change before it is serialized.
//
// NOTE: this is the seam left by the pipeline; the full engine (conditions,
// rules, transforms, FilterBuilder) is built on top of this contract:
//   * apply() returns false when the event is dropped; it may modify the
//     event in place (transforms) when it returns true.
//   * an empty filter includes everything and changes nothing.
#pragma once

#include <memory>

#include "heliosdb/cdc/event.h"

namespace heliosdb::cdc {

class EventFilter {
 public:
  EventFilter();
  ~EventFilter();
  EventFilter(const EventFilter&);
  EventFilter& operator=(const EventFilter&);
  EventFilter(EventFilter&&) noexcept;
  EventFilter& operator=(EventFilter&&) noexcept;

  // True when the filter has no rules and no transforms.
  bool empty() const;
  // Decides whether `event` is kept; applies transforms to kept events.
  bool apply(CdcEvent& event) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace heliosdb::cdc
