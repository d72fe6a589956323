// vgpu-client: the guest's command line. Exit codes: 0 ok, 1 the job failed, 2 usage,
// 3 no vgpu-stub device, 4 no mediator or refused.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iostream>

#include "client.hpp"
#include "client_output.hpp"
#include "client_probe.hpp"
#include "device.hpp"
#include "spool_client.hpp"
#include "vgpu/protocol/op_names.hpp"

using namespace vgpu;

namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// The original client took the command as its only argument: `vgpu-client VECTOR_ADD`. Such a
// word (all capitals) becomes `run vector_add`. Option values never match: tokens are lower-case
// hex, ports and ids are digits.
std::vector<std::string> translate_legacy_form(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "info" || a == "run") break;
    const bool upper = !a.empty() && std::all_of(a.begin(), a.end(), [](char c) {
      return std::isupper(static_cast<unsigned char>(c)) || c == '_';
    });
    if (!upper) continue;
    if (auto op = protocol::from_legacy_command(a)) {
      args[i] = *op;
      args.insert(args.begin() + static_cast<std::ptrdiff_t>(i), "run");
    }
    break;
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vgpu-client: run GPU jobs through the host's vgpu mediator"};
  app.require_subcommand(1);
  std::string sysfs_root = env_or("VGPU_SYSFS_ROOT", "/sys");
  std::string host = env_or("VGPU_HOST", "127.0.0.1");
  std::uint16_t port = static_cast<std::uint16_t>(std::stoi(env_or("VGPU_PORT", "7800")));
  std::optional<std::uint32_t> vm_id;
  std::string token;
  bool json = false;
  std::string transport = env_or("VGPU_TRANSPORT", "tcp");
  std::string spool_dir = env_or("VGPU_DIR", "");
  unsigned poll_ms = 2;
  bool shared_memory = false;
  bool rings = false;
  app.add_option("--sysfs-root", sysfs_root, "where PCI sysfs is (default /sys, $VGPU_SYSFS_ROOT)");
  app.add_option("--host", host, "mediator address (default 127.0.0.1, $VGPU_HOST)");
  app.add_option("--port", port, "mediator port (default 7800, $VGPU_PORT)");
  app.add_option("--vm-id", vm_id, "identity to use instead of the device's");
  app.add_option("--token", token, "token to use with --vm-id");
  app.add_flag("--json", json, "machine-readable output");
  std::uint32_t cid = 2;
  app.add_option("--transport", transport, "tcp, vsock or file (default tcp, $VGPU_TRANSPORT)")
      ->check(CLI::IsMember({"tcp", "vsock", "file"}));
  app.add_option("--cid", cid, "vsock: the mediator's CID (default 2, the host)");
  app.add_option("--dir", spool_dir,
                 "file transport: this VM's directory on the share (default /mnt/vgpu/vm<vm_id>, "
                 "$VGPU_DIR)");
  app.add_option("--poll-ms", poll_ms, "file transport: how often to look for the response")
      ->check(CLI::Range(1u, 10000u));
  app.add_flag("--shared-memory", shared_memory,
               "tcp/vsock: the output comes back through the VM's shared memory (the "
               "vgpu-stub's BAR2; on the mediator's host, the file the mediator names)");
  app.add_flag("--rings", rings,
               "tcp/vsock: with --shared-memory, the request and the result pass through rings "
               "in that memory too, not the socket (when the mediator grants them)");

  app.add_subcommand("info", "print the identity the vgpu-stub device gives this VM");
  auto* run =
      app.add_subcommand("run", "run an op: noop, vector_add, saxpy, reduce_sum, gemm, spin");
  std::string op;
  std::optional<std::uint64_t> n, seed;
  std::vector<std::string> extra;
  run->add_option("op", op, "op name (or an original command word such as VECTOR_ADD)")->required();
  run->add_option("--n", n, "problem size (elements; gemm: matrix side)");
  run->add_option("--seed", seed, "seed of the generated inputs");
  run->add_option("-p,--param", extra, "more parameters as key=value (e.g. us=2000, alpha=3)");
  auto* probe = app.add_subcommand(
      "probe",
      "run an op every --interval-ms, --count times; print round-trip percentiles (and, "
      "with --shared-memory, how fast this VM reads and writes that memory)");
  guest::ProbeOptions probe_options;
  unsigned interval_ms = 10, spin_us = 0;
  probe->add_option("op", op, "op name")->required();
  probe->add_option("-p,--param", extra, "parameters as key=value (e.g. us=50)");
  probe->add_option("--count", probe_options.count, "how many jobs (default 100)")
      ->check(CLI::Range(1u, 1'000'000u));
  probe->add_option("--interval-ms", interval_ms, "one job per interval (default 10)")
      ->check(CLI::Range(1u, 60'000u));
  probe
      ->add_option("--spin-us", spin_us,
                   "watch for each result this long before sleeping (a busy CPU meanwhile)")
      ->check(CLI::Range(0u, 10'000'000u));

  auto args = translate_legacy_form(argc, argv);
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  guest::DeviceIdentity device;
  // With the file transport and its directory given, the directory is the identity.
  const bool identity_needed = !vm_id && !(transport == "file" && !spool_dir.empty());
  if (identity_needed || app.got_subcommand("info") || (shared_memory && !vm_id)) {
    try {
      device = guest::read_device_identity(sysfs_root);
    } catch (const guest::DeviceError& e) {
      std::cerr << "vgpu-client: " << e.what() << "\n";
      return 3;
    }
  }
  if (app.got_subcommand("info")) {
    std::cout << guest::describe_identity(device, json) << "\n";
    return 0;
  }
  if (!vm_id && identity_needed) {
    vm_id = device.vm_id;
    token = device.token;
  }
  if (auto legacy = protocol::from_legacy_command(op)) op = *legacy;
  std::vector<protocol::Param> params;
  if (n) params.push_back({"n", std::to_string(*n)});
  if (seed) params.push_back({"seed", std::to_string(*seed)});
  for (const auto& kv : extra) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "vgpu-client: parameter '" << kv << "' must be key=value\n";
      return 2;
    }
    params.push_back({kv.substr(0, eq), kv.substr(eq + 1)});
  }
  try {
    if (transport == "file") {
      // The directory is the identity: no token, nothing to claim.
      if (spool_dir.empty()) spool_dir = "/mnt/vgpu/vm" + std::to_string(*vm_id);
      auto client = guest::SpoolClient::open(spool_dir, std::chrono::milliseconds(poll_ms));
      auto result = client.run(op, params);
      std::cout << guest::describe_result(op, result, client.identity(), json) << "\n";
      return result.status == protocol::Status::ok ? 0 : 1;
    }
    guest::ConnectOptions options;
    shared_memory = shared_memory || rings;
    options.shared_memory = shared_memory;
    options.rings = rings;
    auto client = transport == "vsock"
                      ? guest::Client::connect_vsock(cid, port, vm_id.value_or(0), token, options)
                      : guest::Client::connect(host, port, vm_id.value_or(0), token, options);
    if (app.got_subcommand("probe")) {
      client.set_spin_wait(std::chrono::microseconds(spin_us));
      probe_options.interval = std::chrono::milliseconds(interval_ms);
      probe_options.shared = shared_memory;
      std::optional<guest::MemorySpeed> speed;
      if (shared_memory)
        speed = guest::measure_memory(client.map_shared_memory(device.shared_memory_path));
      const auto report = guest::run_probe(client, op, params, probe_options);
      if (!report.first_error.empty())
        std::cerr << "vgpu-client: " << report.failed
                  << " failed, the first: " << report.first_error << "\n";
      std::cout << guest::describe_probe(op, report, speed ? &*speed : nullptr, client.uses_rings())
                << "\n";
      return report.failed == 0 ? 0 : 1;
    }
    if (!shared_memory) {
      auto result = client.run(op, params);
      std::cout << guest::describe_result(op, result, client.identity(), json) << "\n";
      return result.status == protocol::Status::ok ? 0 : 1;
    }
    // The whole region is the output's place; the device's BAR2 when there is one.
    const auto memory = client.map_shared_memory(device.shared_memory_path);
    auto result = client.run_shared(op, params, {}, {{0, memory.size()}});
    for (const auto& out : result.shared_outputs)
      result.outputs.emplace_back(out.begin(), out.end());
    std::cout << guest::describe_result(op, result, client.identity(), json) << "\n";
    if (json && result.status == protocol::Status::ok)
      std::cout << "{\"shared_memory\": \""
                << (device.shared_memory_path.empty() ? client.identity().shared_name
                                                      : device.shared_memory_path)
                << "\", \"bytes\": " << (result.outputs.empty() ? 0 : result.outputs[0].size())
                << ", \"rings\": " << (client.uses_rings() ? "true" : "false") << "}\n";
    return result.status == protocol::Status::ok ? 0 : 1;
  } catch (const guest::ClientError& e) {
    std::cerr << "vgpu-client: " << e.what() << "\n";
    return 4;
  }
}
