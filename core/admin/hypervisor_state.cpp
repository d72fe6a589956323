#include "hypervisor_state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "hypervisor.hpp"

namespace vgpu::admin {

std::filesystem::path state_folder(const char* env, const std::filesystem::path& fallback) {
  const char* value = std::getenv(env);
  const std::filesystem::path dir = value && *value ? value : fallback;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0)
    throw HypervisorError("cannot make " + dir.string() +
                          " (root-only, 0700): " + (ec ? ec.message() : std::strerror(errno)));
  return dir;
}

void check_uuid_names_a_file(const std::string& uuid) {
  if (uuid.empty() ||
      uuid.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") !=
          std::string::npos)
    throw HypervisorError(
        "VM UUID '" + uuid +
        "' may hold only letters, digits and '-' (it names files in the state folder)");
}

void write_private_file(const std::filesystem::path& path, const std::string& text) {
  const auto tmp = path.string() + ".tmp" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw HypervisorError("cannot write " + tmp + ": " + std::strerror(errno));
  const bool written = ::fchmod(fd, 0600) == 0 &&
                       ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int why = written ? errno : saved;
    ::unlink(tmp.c_str());
    throw HypervisorError("cannot write " + path.string() + ": " + std::strerror(why));
  }
}

}  // namespace vgpu::admin
