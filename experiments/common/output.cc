#include "experiments/common/output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "experiments/common/console.h"

namespace experiments {

namespace fs = std::filesystem;

fs::path WorkspaceDirectory() {
  if (const char* dir = std::getenv("BUILD_WORKSPACE_DIRECTORY"); dir != nullptr && *dir) {
    return dir;
  }
  return fs::current_path();
}

fs::path PrepareOutputDirectory(absl::string_view dir) {
  if (dir.empty()) throw OutputError("empty output directory");
  fs::path path{std::string(dir)};
  if (path.is_relative()) path = WorkspaceDirectory() / path;
  std::error_code error;
  fs::create_directories(path, error);
  if (error) {
    throw OutputError(absl::StrCat("cannot create ", QuoteValue(path.string()), ": ",
                                   error.message()));
  }
  if (!fs::is_directory(path)) {
    throw OutputError(absl::StrCat(QuoteValue(path.string()), " is not a directory"));
  }
  const fs::path probe = path / ".write_probe";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    throw OutputError(absl::StrCat("cannot write in ", QuoteValue(path.string()), ": ",
                                   std::strerror(errno)));
  }
  ::close(fd);
  fs::remove(probe, error);
  return path;
}

void WriteFileAtomically(const fs::path& path, absl::string_view contents) {
  const fs::path temporary = path.string() + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    throw OutputError(absl::StrCat("cannot write ", temporary.string(), ": ", std::strerror(errno)));
  }
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      throw OutputError(absl::StrCat("cannot write ", temporary.string(), ": ", std::strerror(saved)));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int saved = errno;
    ::unlink(temporary.c_str());
    throw OutputError(absl::StrCat("cannot flush ", temporary.string(), ": ", std::strerror(saved)));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temporary.c_str());
    throw OutputError(absl::StrCat("cannot rename to ", path.string(), ": ", std::strerror(saved)));
  }
}

std::string CsvField(absl::string_view field) {
  if (field.find_first_of(",\"\n") == absl::string_view::npos) return std::string(field);
  std::string quoted = "\"";
  for (char c : field) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string CsvLine(const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ',';
    line += CsvField(fields[i]);
  }
  return line + "\n";
}

std::vector<std::string> SplitCsvLine(absl::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r' && c != '\n') {
      fields.back() += c;
    }
  }
  return fields;
}

}  // namespace experiments
