#include "model/layout.h"

namespace model {

std::string Layout::Check() const {
  // Bitmaps are 32-bit in hamt/internal/node.h; the urn tables grow as 4^bits_per_level.
  if (bits_per_level < 1 || bits_per_level > 5) return "bits_per_level must be in 1..5";
  if (hash_bits < 1 || hash_bits > 64) return "hash_bits must be in 1..64";
  if (slot_bytes < 1) return "slot_bytes must be at least 1";
  if (entry_bytes < 1) return "entry_bytes must be at least 1";
  if (header_bytes > (1u << 20) || child_bytes > (1u << 20) || entry_bytes > (1u << 20)) {
    return "header, child and entry bytes must be at most 1 MiB";
  }
  return "";
}

}  // namespace model
