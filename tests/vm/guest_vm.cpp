#include "guest_vm.hpp"

#include <stdexcept>

namespace vgpu::testing {
namespace {

std::string base64(const std::string& in) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 |
                       static_cast<unsigned char>(in[i + 1]) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += table[(v >> s) & 63];
  }
  if (const auto rest = in.size() - i) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += rest == 2 ? table[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Linux on x86 keeps 2048 bytes of command line; leave room for the fixed part.
constexpr std::size_t kMaxScriptBase64 = 1800;

}  // namespace

std::string mount_share(const std::string& tag, const std::string& guest_dir) {
  return "mkdir -p " + guest_dir + " && mount -t 9p -o trans=virtio,version=9p2000.L,cache=none " +
         tag + " " + guest_dir;
}

GuestVm::GuestVm(const VmArtifacts& artifacts, GuestOptions options,
                 const std::filesystem::path& work_dir)
    : options_(std::move(options)) {
  const auto script = base64(options_.script);
  if (script.size() > kMaxScriptBase64)
    throw std::invalid_argument("guest script for " + options_.name + " is too long for the " +
                                "kernel command line (" + std::to_string(script.size()) +
                                " base64 bytes)");
  std::vector<std::string> args = {
      "-machine",        "pc",       "-m",   "256",        "-smp",    "1",    "-nodefaults",
      "-no-user-config", "-display", "none", "-no-reboot", "-serial", "stdio"};
  if (artifacts.use_kvm()) args.insert(args.end(), {"-accel", "kvm"});
  args.insert(args.end(), {"-accel", "tcg"});
  for (const auto& dir : artifacts.firmware_dirs) args.insert(args.end(), {"-L", dir.string()});
  args.insert(args.end(),
              {"-kernel", artifacts.kernel.string(), "-initrd", artifacts.initramfs.string(),
               "-append", "console=ttyS0 quiet panic=-1 vgpu.script=" + script});
  if (options_.device && options_.shared_memory) {
    args.insert(args.end(), {"-object", "memory-backend-file,id=vgpushm,mem-path=" +
                                            options_.shared_memory->string() +
                                            ",size=" + options_.shared_memory_size + ",share=on"});
    args.insert(args.end(), {"-device", *options_.device + ",memdev=vgpushm"});
  } else if (options_.device) {
    args.insert(args.end(), {"-device", *options_.device});
  }
  if (options_.network)
    // romfile= (empty): no PXE option ROM, so the firmware package need not carry one.
    args.insert(args.end(),
                {"-netdev", "user,id=net0", "-device", "virtio-net-pci,netdev=net0,romfile="});
  for (std::size_t i = 0; i < options_.shares.size(); ++i) {
    const auto id = "fs" + std::to_string(i);
    args.insert(args.end(),
                {"-fsdev",
                 "local,id=" + id + ",path=" + options_.shares[i].host_dir.string() +
                     ",security_model=none",
                 "-device", "virtio-9p-pci,fsdev=" + id + ",mount_tag=" + options_.shares[i].tag});
  }
  qemu_ = std::make_unique<QemuProcess>(artifacts.qemu, args,
                                        work_dir / (options_.name + ".console.log"));
}

bool GuestVm::console_contains(const std::string& text) const {
  return qemu_->log().find(text) != std::string::npos;
}

GuestRun GuestVm::finish(std::chrono::seconds limit) {
  GuestRun run;
  run.finished = qemu_->wait(limit);
  if (!run.finished) qemu_->kill();
  run.console = qemu_->log();
  std::erase(run.console, '\r');  // the serial line ends lines with \r\n
  const std::string ready = "VGPU-GUEST-READY\n", done = "VGPU-GUEST-EXIT ";
  const auto start = run.console.find(ready);
  const auto end = run.console.rfind(done);
  if (start != std::string::npos) {
    const auto from = start + ready.size();
    run.output = run.console.substr(
        from, (end == std::string::npos || end < from ? run.console.size() : end) - from);
  }
  if (end != std::string::npos) {
    try {
      run.script_status = std::stoi(run.console.substr(end + done.size()));
    } catch (const std::exception&) {
    }
  }
  return run;
}

}  // namespace vgpu::testing
