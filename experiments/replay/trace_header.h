// experiments/replay/trace_header.h: a trace file's metadata (allocators/trace/trace_file.h keeps
// it opaque) as the experiments write it: one trace_header record (experiments/schema/schema.json)
// as a JSON object.
#ifndef HAMT_ALLOC_EXPERIMENTS_REPLAY_TRACE_HEADER_H_
#define HAMT_ALLOC_EXPERIMENTS_REPLAY_TRACE_HEADER_H_

#include <string>

#include "allocators/trace/trace_file.h"
#include "experiments/common/records.h"
#include "experiments/schema/schema.h"

namespace experiments::replay {

using TraceHeader = Record<schema::TraceHeader>;

// The header as the file's metadata bytes.
std::string EncodeTraceHeader(const TraceHeader& header);

// The header of a trace read from a file; throws allocators::trace::TraceError at the metadata's
// byte offset (24) when it is not a JSON trace_header record.
TraceHeader DecodeTraceHeader(const allocators::trace::Trace& trace);

}  // namespace experiments::replay

#endif  // HAMT_ALLOC_EXPERIMENTS_REPLAY_TRACE_HEADER_H_
