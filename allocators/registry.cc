#include "allocators/registry.h"

namespace allocators {

std::vector<std::string_view> PolicyNames() {
  std::vector<std::string_view> names;
  for (const PolicyInfo& info : kPolicies) names.push_back(info.name);
  return names;
}

std::vector<std::string_view> FallbackNames() {
  std::vector<std::string_view> names;
  for (const PolicyInfo& info : kPolicies) {
    if (info.fallback_capable) names.push_back(info.name);
  }
  return names;
}

const PolicyInfo* FindPolicy(std::string_view name) {
  for (const PolicyInfo& info : kPolicies) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

namespace registry_internal {

void ThrowUnknown(const char* what, std::string_view name,
                  const std::vector<std::string_view>& known) {
  std::string message = std::string("unknown ") + what + " '" + std::string(name) + "'; known: ";
  for (std::size_t i = 0; i < known.size(); ++i) {
    if (i > 0) message += ", ";
    message += known[i];
  }
  throw std::invalid_argument(message);
}

}  // namespace registry_internal
}  // namespace allocators
