// A duration as messages say it: "250 ms", "10 s", "1.5 s".
#pragma once

#include <chrono>
#include <string>

namespace heliosdb::cdc {

std::string format_duration(std::chrono::milliseconds duration);

}  // namespace heliosdb::cdc
