#include "experiments/replay/trace_header.h"

#include <exception>
#include <string>

#include "nlohmann/json.hpp"

namespace experiments::replay {

std::string EncodeTraceHeader(const TraceHeader& header) { return header.Json().dump(); }

TraceHeader DecodeTraceHeader(const allocators::trace::Trace& trace) {
  try {
    return TraceHeader::FromJson(nlohmann::ordered_json::parse(trace.metadata), "metadata");
  } catch (const std::exception& error) {  // nlohmann's parse_error or our SchemaError
    throw allocators::trace::TraceError(allocators::trace::kFixedHeaderBytes,
                                        std::string("bad trace_header: ") + error.what());
  }
}

}  // namespace experiments::replay
