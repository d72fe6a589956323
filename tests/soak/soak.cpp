// vgpu-soak: the mediator under a long, mixed, partly hostile load (docs/hardening.md, "Soak").
// Twelve VMs at three priorities in two pools use TCP, shared memory with rings, and the file
// transport at once; meanwhile clients disconnect in the middle of their work, cancel jobs and
// send malformed frames, and the operator sends SIGHUP and changes the config DB. It checks that
// every SUBMIT of a connection that stayed got exactly one RESULT, with the right values, and
// that the mediator's resident memory and open descriptors stay flat. Prints a JSON report;
// exits 1 when a check fails.
//   vgpu-soak --seconds 120      (the CI version, a ctest)
//   vgpu-soak --seconds 1800     (the 30-minute run)
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "client.hpp"
#include "mediator_process.hpp"
#include "raw_connection.hpp"
#include "spool_client.hpp"
#include "vgpu/sdk/ops.hpp"

using namespace vgpu;
using namespace vgpu::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace ops = sdk::ops;
using Clock = std::chrono::steady_clock;

namespace {

struct Tally {
  std::atomic<std::uint64_t> submitted{0}, answered{0}, abandoned{0}, cancelled{0}, refused{0},
      malformed_closed{0}, reloads{0}, admin_changes{0}, reconnects{0};
  std::mutex mutex;
  std::vector<std::string> violations;
  void violation(const std::string& what) {
    std::lock_guard lock(mutex);
    if (violations.size() < 50) violations.push_back(what);
  }
};

std::vector<float> expected_sum(std::uint64_t seed, std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = ops::generated_value(seed, 0, i) + ops::generated_value(seed, 1, i);
  return v;
}

// A TCP client: pipelines a few jobs, sometimes cancels one, sometimes walks away mid-flight.
void tcp_worker(const MediatorProcess& m, std::uint16_t port, const TestVm& vm, unsigned seed,
                Clock::time_point end, Tally& tally) {
  std::mt19937 rng(seed);
  while (Clock::now() < end) {
    try {
      auto c = guest::Client::connect("127.0.0.1", port, vm.vm_id, vm.token);
      for (int round = 0; round < 20 && Clock::now() < end; ++round) {
        std::map<std::uint64_t, std::uint64_t> seeds;  // tag -> seed (vector_add), 0: other op
        const int jobs = 1 + rng() % 6;
        for (int j = 0; j < jobs; ++j) {
          const auto s = 1 + rng() % 1000;
          switch (rng() % 4) {
            case 0:
              seeds[c.submit("vector_add", {{"n", "257"}, {"seed", std::to_string(s)}})] = s;
              break;
            case 1:
              seeds[c.submit("spin", {{"us", std::to_string(200 + rng() % 2000)}})] = 0;
              break;
            case 2:
              seeds[c.submit("noop", {})] = 0;
              break;
            default:
              seeds[c.submit("reduce_sum", {{"n", "100"}})] = 0;
          }
          ++tally.submitted;
        }
        if (rng() % 10 == 0) {
          c.cancel(seeds.rbegin()->first);
          ++tally.cancelled;
        }
        if (rng() % 25 == 0) {  // disconnect with jobs in flight: nobody is owed a result
          tally.abandoned += seeds.size();
          break;
        }
        std::set<std::uint64_t> seen;
        for (std::size_t k = 0; k < seeds.size(); ++k) {
          auto r = c.next_result();
          if (!seeds.count(r.tag)) tally.violation("a RESULT for a tag never submitted");
          if (!seen.insert(r.tag).second) tally.violation("two RESULTs for one tag");
          ++tally.answered;
          if (r.status == sdk::Status::queue_full || r.status == sdk::Status::cancelled) {
            ++tally.refused;
            continue;
          }
          if (r.status != sdk::Status::ok) {
            tally.violation("job failed: " + r.message);
            continue;
          }
          if (const auto s = seeds[r.tag];
              s && ops::to_floats(r.outputs.at(0)) != expected_sum(s, 257))
            tally.violation("vector_add over tcp returned wrong values");
        }
      }
    } catch (const std::exception& e) {
      tally.violation(std::string("tcp client: ") + e.what());
      std::this_thread::sleep_for(100ms);
    }
  }
}

// Shared memory with rings: outputs land in the region; values checked there.
void shared_worker(std::uint16_t port, const TestVm& vm, unsigned seed, Clock::time_point end,
                   Tally& tally) {
  std::mt19937 rng(seed);
  while (Clock::now() < end) {
    try {
      guest::ConnectOptions options;
      options.rings = true;
      auto c = guest::Client::connect("127.0.0.1", port, vm.vm_id, vm.token, options);
      c.map_shared_memory();
      for (int i = 0; i < 200 && Clock::now() < end; ++i) {
        const auto s = 1 + rng() % 1000;
        const std::size_t n = 1 + rng() % 4096;
        ++tally.submitted;
        auto r = c.run_shared("vector_add", {{"n", std::to_string(n)}, {"seed", std::to_string(s)}},
                              {}, {{0, n * sizeof(float)}});
        ++tally.answered;
        if (r.status != sdk::Status::ok) {
          if (r.status == sdk::Status::queue_full) continue;
          tally.violation("shared job failed: " + r.message);
          continue;
        }
        std::vector<float> got(n);
        std::memcpy(got.data(), r.shared_outputs.at(0).data(), n * sizeof(float));
        if (got != expected_sum(s, n)) tally.violation("vector_add in shared memory: wrong values");
      }
    } catch (const std::exception& e) {
      tally.violation(std::string("shared-memory client: ") + e.what());
      std::this_thread::sleep_for(100ms);
    }
  }
}

// The file transport's spool, as a guest on NFS/9p would use it.
void file_worker(const fs::path& vm_dir, unsigned seed, Clock::time_point end, Tally& tally) {
  std::mt19937 rng(seed);
  try {
    auto c = guest::SpoolClient::open(vm_dir.string(), 1ms);
    while (Clock::now() < end) {
      const auto s = 1 + rng() % 1000;
      ++tally.submitted;
      auto r = c.run("vector_add", {{"n", "64"}, {"seed", std::to_string(s)}});
      ++tally.answered;
      if (r.status == sdk::Status::queue_full) continue;
      if (r.status != sdk::Status::ok || ops::to_floats(r.outputs.at(0)) != expected_sum(s, 64))
        tally.violation("file transport: " + r.message);
    }
  } catch (const std::exception& e) {
    tally.violation(std::string("file client: ") + e.what());
  }
}

// Hostile frames: each must be answered with ERROR and a closed connection, nothing more.
void malformed_worker(const MediatorProcess& m, const TestVm& vm, unsigned seed,
                      Clock::time_point end, Tally& tally) {
  std::mt19937 rng(seed);
  while (Clock::now() < end) {
    try {
      RawConnection c(m.port());
      switch (rng() % 4) {
        case 0: {  // garbage before HELLO
          std::vector<std::uint8_t> junk(24 + rng() % 200);
          for (auto& b : junk) b = std::uint8_t(rng());
          c.send(junk);
          break;
        }
        case 1:  // sizes that wrap around
          c.hello(vm.vm_id, vm.token);
          c.send(wire::frame_prefix(wire::FrameType::submit, 1,
                                    wire::Submit{"noop", {}, 0, {UINT64_MAX - 63, 128}, {}, {}},
                                    64));
          break;
        case 2:  // undefined flags
          c.hello(vm.vm_id, vm.token);
          c.send(wire::frame_prefix(wire::FrameType::submit, 1, wire::Submit{"noop", {}, 0, {}}, 0,
                                    0x4000));
          break;
        default:  // a wrong token
          c.hello(vm.vm_id, "ffffffffffffffffffffffffffffffff");
      }
      if (c.closed_by_peer(5s))
        ++tally.malformed_closed;
      else
        tally.violation("a malformed frame did not close its connection");
    } catch (const std::exception& e) {
      tally.violation(std::string("malformed sender: ") + e.what());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 200));
  }
}

// The operator: SIGHUP reloads and DB changes (priorities, a VM registered and removed).
void operator_worker(MediatorProcess& m, const std::vector<TestVm>& vms, Clock::time_point end,
                     Tally& tally) {
  const std::string admin = program("vgpu-admin").string() + " --db " + m.db().string() + " --yes ";
  const char* levels[] = {"low", "medium", "high"};
  for (unsigned i = 0; Clock::now() < end; ++i) {
    std::this_thread::sleep_for(2s);
    if (i % 3 == 0) {
      ::kill(m.pid(), SIGHUP);
      ++tally.reloads;
    }
    const auto& vm = vms[i % vms.size()];
    auto r = run_command(admin + "update-vm " + vm.name + " --priority " + levels[i % 3]);
    if (r.exit_code != 0) tally.violation("update-vm failed: " + r.output);
    r = run_command(admin + "register-vm --vm-uuid soak-temp --name soaktemp --pool B");
    if (r.exit_code == 0) r = run_command(admin + "remove-vm soak-temp");
    if (r.exit_code != 0) tally.violation("register/remove failed: " + r.output);
    tally.admin_changes += 3;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vgpu-soak: a long mixed and hostile load against a real mediator"};
  unsigned seconds = 120;
  std::string report_path;
  app.add_option("--seconds", seconds, "how long the load runs (default 120)");
  app.add_option("--report", report_path, "also write the JSON report to this file");
  CLI11_PARSE(app, argc, argv);

  std::vector<TestVm> vms;
  const char* levels[] = {"high", "medium", "low"};
  for (int i = 0; i < 12; ++i)
    vms.push_back({"soak" + std::to_string(i), i % 2 ? "B" : "A", levels[i % 3]});
  const auto share = fs::temp_directory_path() / ("vgpu-soak-share-" + std::to_string(::getpid()));
  const auto shm = fs::temp_directory_path() / ("vgpu-soak-shm-" + std::to_string(::getpid()));
  fs::remove_all(share);
  fs::remove_all(shm);
  int failures = 0;
  nlohmann::json report;
  {
    MediatorProcess m(vms, "log:\n  level: warn\nstats:\n  interval_s: 3600\n", "strict_priority",
                      2,
                      "  - plugin: tcp\n    listen: 127.0.0.1\n    port: 0\n"
                      "    shared_memory_dir: " +
                          shm.string() +
                          "\n    shared_memory_mb: 4\n"
                          "  - plugin: file\n    root: " +
                          share.string() + "\n    detect: inotify\n");
    const auto ready = nlohmann::json::parse(std::ifstream(m.dir() / "ready.json"));
    const std::string ep = ready["endpoints"][1];
    const auto shm_port = static_cast<std::uint16_t>(std::stoi(ep.substr(ep.rfind(':') + 1)));
    for (const auto& vm : vms)
      if (!eventually([&] {
            return fs::is_directory(share / ("vm" + std::to_string(m.vm(vm.name).vm_id)) /
                                    "responses");
          }))
        throw std::runtime_error("the file transport made no directory for " + vm.name);

    Tally tally;
    const auto start = Clock::now();
    const auto end = start + std::chrono::seconds(seconds);
    std::vector<std::pair<double, std::size_t>> rss, fds;  // (seconds, value)
    std::vector<std::thread> threads;
    for (int i = 0; i < 6; ++i)
      threads.emplace_back(
          [&, i] { tcp_worker(m, m.port(), m.vm(vms[i].name), 100 + i, end, tally); });
    for (int i = 6; i < 8; ++i)
      threads.emplace_back(
          [&, i] { shared_worker(shm_port, m.vm(vms[i].name), 200 + i, end, tally); });
    for (int i = 8; i < 10; ++i)
      threads.emplace_back([&, i] {
        file_worker(share / ("vm" + std::to_string(m.vm(vms[i].name).vm_id)), 300 + i, end, tally);
      });
    threads.emplace_back([&] { malformed_worker(m, m.vm(vms[10].name), 400, end, tally); });
    threads.emplace_back([&] { operator_worker(m, vms, end, tally); });
    while (Clock::now() < end) {
      const double t = std::chrono::duration<double>(Clock::now() - start).count();
      rss.emplace_back(t, resident_bytes(m.pid()));
      fds.emplace_back(t, open_fds(m.pid()));
      if (!m.running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::max(250u, seconds * 1000 / 400)));
    }
    for (auto& t : threads) t.join();
    const bool alive = m.running();

    // Flat: the last quarter's mean against the second quarter's (the first warms up caches,
    // pools and the allocator).
    auto mean = [](const std::vector<std::pair<double, std::size_t>>& v, double from, double to) {
      double sum = 0;
      int n = 0;
      for (auto [t, x] : v)
        if (t >= from && t <= to) sum += double(x), ++n;
      return n ? sum / n : 0.0;
    };
    const double q = seconds / 4.0;
    const double rss_start = mean(rss, q, 2 * q), rss_end = mean(rss, 3 * q, 4 * q);
    // Descriptors: the floor (fewest open) of each quarter. Connections come and go all the
    // time; a leak raises the floor.
    auto floor_of = [](const std::vector<std::pair<double, std::size_t>>& v, double from,
                       double to) {
      std::size_t low = SIZE_MAX;
      for (auto [t, x] : v)
        if (t >= from && t <= to) low = std::min(low, x);
      return low == SIZE_MAX ? 0.0 : double(low);
    };
    const double fd_start = floor_of(fds, q, 2 * q), fd_end = floor_of(fds, 3 * q, 4 * q);
    const bool rss_flat = rss_end <= rss_start * 1.10 + (16 << 20);
    const bool fds_flat = fd_end <= fd_start + 8;
    report = {{"seconds", seconds},
              {"vms", vms.size()},
              {"submitted", tally.submitted.load()},
              {"answered", tally.answered.load()},
              {"abandoned_by_disconnects", tally.abandoned.load()},
              {"cancels_sent", tally.cancelled.load()},
              {"queue_full_or_cancelled", tally.refused.load()},
              {"malformed_connections_closed", tally.malformed_closed.load()},
              {"sighup_reloads", tally.reloads.load()},
              {"admin_changes", tally.admin_changes.load()},
              {"rss_mb_second_quarter", rss_start / (1 << 20)},
              {"rss_mb_last_quarter", rss_end / (1 << 20)},
              {"open_fds_floor_second_quarter", fd_start},
              {"open_fds_floor_last_quarter", fd_end},
              {"open_fds_samples", fds.size()},
              {"rss_flat", rss_flat},
              {"fds_flat", fds_flat},
              {"mediator_alive", alive},
              {"violations", tally.violations}};
    if (!alive || !rss_flat || !fds_flat || !tally.violations.empty() ||
        tally.answered + tally.abandoned != tally.submitted || tally.submitted == 0)
      failures = 1;
    if (failures) std::cerr << m.log().substr(m.log().size() > 20000 ? m.log().size() - 20000 : 0);
  }
  fs::remove_all(share);
  fs::remove_all(shm);
  std::cout << report.dump(2) << "\n";
  if (!report_path.empty()) std::ofstream(report_path) << report.dump(2) << "\n";
  std::cout << (failures ? "soak: 0 passed, 1 failed\n" : "soak: 1 passed, 0 failed\n");
  return failures;
}
