// XCP-ng / XenServer through `xe`. Record output parsed here is xe's default format, e.g.
//   uuid ( RO)           : 0e5b...
//        name-label ( RW): web-1
//       power-state ( RO): running
// (records separated by blank lines; see docs/hypervisors.md for the source of the format).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "hypervisor_adapters.hpp"
#include "process.hpp"

namespace vgpu::admin {

namespace {

// Writes `text` to `path` as a new 0600 file, then renames it into place: a reader (the
// device-model wrapper) sees the old file or the new one, never half of one.
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

ProcessResult xe(const std::vector<std::string>& args) {
  return run_tool<HypervisorError>("xe", args, "is this an XCP-ng host?");
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

std::vector<HypervisorVm> XcpngHypervisor::list_vms() {
  auto r = xe({"vm-list", "is-control-domain=false", "is-a-template=false",
               "params=uuid,name-label,power-state"});
  std::vector<HypervisorVm> vms;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    const auto colon = line.find(':');
    const auto paren = line.find('(');
    if (colon == std::string::npos || paren == std::string::npos || paren > colon) continue;
    const std::string key = trim(line.substr(0, paren)), value = trim(line.substr(colon + 1));
    if (key == "uuid")
      vms.push_back({value, "", ""});
    else if (!vms.empty() && key == "name-label")
      vms.back().name = value;
    else if (!vms.empty() && key == "power-state")
      vms.back().state = value;
  }
  return vms;
}

std::string XcpngHypervisor::apply(const std::string& uuid, const DeviceSpec& device) {
  // The file names come from the UUID: only what a UUID is made of.
  if (uuid.empty() ||
      uuid.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") !=
          std::string::npos)
    throw HypervisorError(
        "VM UUID '" + uuid +
        "' may hold only letters, digits and '-' (it names files in the state folder)");
  const char* env = std::getenv("VGPU_XCPNG_STATE");
  const std::filesystem::path dir = env && *env ? env : "/var/lib/vgpu/xcpng";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  // Root-only: the tokens are the VMs' credentials, and the device lines say who is who.
  if (ec || ::chmod(dir.c_str(), 0700) != 0)
    throw HypervisorError("cannot make " + dir.string() +
                          " (root-only, 0700): " + (ec ? ec.message() : std::strerror(errno)));
  write_private_file(dir / (uuid + ".device"), device.args + "\n");
  if (device.token)
    write_private_file(dir / (uuid + ".token"), *device.token);  // no newline: QEMU reads it raw
  return "xcpng: wrote " + (dir / (uuid + ".device")).string() +
         (device.token ? " and its token (root-only)" : "") +
         "; the vgpu device-model wrapper adds the device at the VM's next start";
}

}  // namespace vgpu::admin
