// vgpu-loadgen: many VMs at once against a mediator. Each --vm gets its own connection and
// keeps --inflight jobs outstanding until it has sent --jobs (or for --duration-s); with
// --interval-ms it sends one job per interval instead (a latency probe). Then a per-VM table of
// queue waits and round trips (submit to result, as the guest sees it). `--op ping` sends PING
// frames instead of jobs: the transport's own round trip, the floor any job's round trip sits on.
// `--json` also tells where each VM's round trips went (queued, executor, device, the rest) at
// p50, p99 and over the slowest 1%; `--rings` sends through rings in shared memory.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <latch>
#include <random>
#include <thread>
#include <unordered_map>

#include "client.hpp"

using namespace vgpu;

namespace {

struct VmSpec {
  std::uint32_t vm_id = 0;
  std::string token;
  std::string label;
};

// Where one job's round trip went, as far as the result tells: queued in the mediator, in the
// executor (of which on the device), and the rest — the transport and the thread hand-offs.
struct JobTimes {
  double round_trip_ms = 0, wait_ms = 0, executor_ms = 0, device_ms = 0;
  double outside_ms() const { return round_trip_ms - wait_ms - executor_ms; }
};

struct VmReport {
  VmSpec spec;
  std::string pool;
  int priority = 0;
  std::size_t done = 0, failed = 0;
  std::vector<double> waits_ms;
  std::vector<double> round_trips_ms;
  std::vector<double> executor_ms;  // the executor's own time per job (usage.wall)
  std::vector<JobTimes> jobs;
  // --trace: per finished job, its tag, and when the submit began, returned, and the result came
  // (steady_clock ns, the mediator's VGPU_STAGE_TRACE clock).
  struct Stamp {
    std::uint64_t tag;
    std::int64_t submitting_ns, submitted_ns, received_ns;
  };
  std::vector<Stamp> stamps;
  std::string error;
};

VmSpec parse_vm(const std::string& text) {
  VmSpec spec;
  const auto a = text.find(':');
  spec.vm_id = static_cast<std::uint32_t>(std::stoul(text.substr(0, a)));
  if (a != std::string::npos) {
    const auto b = text.find(':', a + 1);
    spec.token = text.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
    if (b != std::string::npos) spec.label = text.substr(b + 1);
  }
  if (spec.label.empty()) spec.label = "vm" + std::to_string(spec.vm_id);
  return spec;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto idx = static_cast<std::size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

// The JSON fields that say where the time went: p50 and p99 of each part, and the mean of each
// part over the slowest 1% of round trips (what the tail is made of).
std::string breakdown_json(const std::vector<JobTimes>& jobs) {
  if (jobs.empty()) return "{}";
  using Part = double (*)(const JobTimes&);
  const std::pair<const char*, Part> parts[] = {
      {"wait", [](const JobTimes& t) { return t.wait_ms; }},
      {"executor", [](const JobTimes& t) { return t.executor_ms; }},
      {"device", [](const JobTimes& t) { return t.device_ms; }},
      {"outside", [](const JobTimes& t) { return t.outside_ms(); }}};
  std::vector<JobTimes> by_round_trip = jobs;
  std::sort(by_round_trip.begin(), by_round_trip.end(),
            [](const JobTimes& a, const JobTimes& b) { return a.round_trip_ms < b.round_trip_ms; });
  const std::size_t tail_from = by_round_trip.size() - std::max<std::size_t>(1, jobs.size() / 100);
  std::string out = "{";
  for (const auto& [name, part] : parts) {
    std::vector<double> values;
    for (const auto& t : jobs) values.push_back(part(t));
    double tail = 0;
    for (std::size_t i = tail_from; i < by_round_trip.size(); ++i) tail += part(by_round_trip[i]);
    tail /= double(by_round_trip.size() - tail_from);
    char field[160];
    std::snprintf(field, sizeof field,
                  "%s\"%s\": {\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"slowest_1pct_mean_ms\": %.3f}",
                  out.size() > 1 ? ", " : "", name, percentile(values, 0.5),
                  percentile(values, 0.99), tail);
    out += field;
  }
  return out + "}";
}

// Waits for a paced probe's next send. Spinning separates the cost of waking the guest's own
// thread (and its CPU) from the mediator's round trip.
void wait_until(std::chrono::steady_clock::time_point when, bool spin) {
  if (!spin) return std::this_thread::sleep_until(when);
  while (std::chrono::steady_clock::now() < when) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vgpu-loadgen: concurrent VMs submitting jobs to a vgpu mediator"};
  std::string host = "127.0.0.1", op = "spin";
  std::uint16_t port = 7800;
  std::vector<std::string> vm_args, params;
  std::size_t jobs = 20, inflight = 4;
  bool json = false;
  double interval_ms = 0, duration_s = 0;
  unsigned spin_us = 0;
  std::string pace = "sleep";
  bool rings = false;
  bool random_phase = false;
  std::string trace_path;
  app.add_option("--host", host);
  app.add_option("--port", port);
  app.add_option("--vm", vm_args, "VM_ID[:TOKEN[:LABEL]], repeat for each VM")->required();
  app.add_option("--jobs", jobs, "jobs per VM");
  app.add_option("--inflight", inflight, "jobs each VM keeps outstanding");
  app.add_option("--op", op, "op to submit");
  app.add_option("-p,--param", params, "key=value parameters of the op");
  app.add_option("--interval-ms", interval_ms, "send one job per interval (a paced probe)");
  app.add_option("--duration-s", duration_s, "run for this long instead of --jobs jobs");
  app.add_option("--spin-us", spin_us,
                 "watch the socket this long before sleeping while waiting for a result");
  app.add_option("--pace", pace,
                 "how a paced probe waits for its next send: sleep (a thread that sleeps, as most "
                 "applications do) or spin (busy-waits, so its CPU stays awake)")
      ->check(CLI::IsMember({"sleep", "spin"}));
  app.add_flag("--random-phase", random_phase,
               "with --interval-ms, each VM starts at a random point of the interval, as "
               "independent VMs do, instead of all at once");
  app.add_flag("--rings", rings,
               "SUBMITs and RESULTs through rings in the VM's shared memory (the transport needs "
               "shared_memory_dir; loadgen must run on the mediator's host)");
  app.add_flag("--json", json, "print the report as JSON");
  app.add_option("--trace", trace_path,
                 "write each job's send and receive times to this file (steady_clock ns), to join "
                 "with the mediator's VGPU_STAGE_TRACE (bench/stage_trace.py)");
  CLI11_PARSE(app, argc, argv);

  std::vector<protocol::Param> op_params;
  for (const auto& kv : params) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "vgpu-loadgen: parameter '%s' must be key=value\n", kv.c_str());
      return 2;
    }
    op_params.push_back({kv.substr(0, eq), kv.substr(eq + 1)});
  }

  const bool spin_pace = pace == "spin";
  std::vector<VmReport> reports(vm_args.size());
  std::latch connected(static_cast<std::ptrdiff_t>(vm_args.size()));
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < vm_args.size(); ++i) {
    threads.emplace_back([&, i] {
      VmReport& rep = reports[i];
      std::optional<guest::Client> client;
      try {
        rep.spec = parse_vm(vm_args[i]);
        guest::ConnectOptions options{"vgpu-loadgen", rings, rings};
        client.emplace(guest::Client::connect(host, port, rep.spec.vm_id, rep.spec.token, options));
        client->set_spin_wait(std::chrono::microseconds(spin_us));
        if (rings) {
          client->map_shared_memory();  // the mediator's file: loadgen runs on its host
          if (!client->uses_rings())
            throw std::runtime_error(
                "the mediator granted no rings (another connection of "
                "this VM holds them, or no shared_memory_dir)");
        }
        rep.pool = client->identity().pool;
        rep.priority = client->identity().priority;
      } catch (const std::exception& e) {
        rep.error = e.what();
      }
      connected.arrive_and_wait();  // everyone starts together, so the queue really is shared
      if (!client) return;
      try {
        using Clock = std::chrono::steady_clock;
        const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(duration_s));
        const auto interval = std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double, std::milli>(interval_ms));
        auto more_to_send = [&](std::size_t sent) {
          return duration_s > 0 ? Clock::now() < until : sent < jobs;
        };
        // The submit's start and end: a round trip counts from the end, as always.
        std::unordered_map<std::uint64_t, std::pair<Clock::time_point, Clock::time_point>> sent_at;
        auto ns = [](Clock::time_point t) {
          return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
        };
        std::size_t sent = 0, received = 0;
        auto next_send = Clock::now();
        if (random_phase && interval_ms > 0) {
          std::mt19937_64 rng(std::random_device{}() + i);
          next_send +=
              std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(
                  std::uniform_real_distribution<double>(0, interval_ms)(rng)));
        }
        if (op == "ping") {  // the mediator's I/O thread answers PING itself: no scheduling
          for (std::size_t sent = 0; more_to_send(sent); ++sent) {
            if (interval_ms > 0) {
              wait_until(next_send, spin_pace);
              next_send += interval;
            }
            const auto t0 = Clock::now();
            client->ping();
            ++rep.done;
            rep.waits_ms.push_back(0);
            rep.round_trips_ms.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
          }
          return;
        }
        for (;;) {
          const std::size_t limit = interval_ms > 0 ? 1 : inflight;
          while (more_to_send(sent) && sent - received < limit) {
            if (interval_ms > 0) {
              wait_until(next_send, spin_pace);
              next_send += interval;
            }
            const auto submitting = Clock::now();
            const auto tag = client->submit(op, op_params);
            sent_at[tag] = {submitting, Clock::now()};
            ++sent;
          }
          if (received == sent) break;
          auto r = client->next_result();
          const auto now = Clock::now();
          ++received;
          const auto [submitting, submitted] = sent_at[r.tag];
          if (r.status == protocol::Status::ok) {
            ++rep.done;
            const JobTimes times{std::chrono::duration<double, std::milli>(now - submitted).count(),
                                 r.queued_ns / 1e6, r.wall_ns / 1e6, r.device_ns / 1e6};
            rep.jobs.push_back(times);
            rep.waits_ms.push_back(times.wait_ms);
            rep.executor_ms.push_back(times.executor_ms);
            rep.round_trips_ms.push_back(times.round_trip_ms);
            if (!trace_path.empty())
              rep.stamps.push_back({r.tag, ns(submitting), ns(submitted), ns(now)});
          } else {
            ++rep.failed;
            if (rep.error.empty()) rep.error = r.message;
          }
          sent_at.erase(r.tag);
        }
      } catch (const std::exception& e) {
        rep.error = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (!trace_path.empty()) {
    std::FILE* out = std::fopen(trace_path.c_str(), "w");
    if (!out) {
      std::fprintf(stderr, "vgpu-loadgen: cannot write --trace %s\n", trace_path.c_str());
      return 2;
    }
    std::fprintf(out, "# vm_id client_tag submitting submitted received (steady_clock ns)\n");
    for (const auto& r : reports)
      for (const auto& s : r.stamps)
        std::fprintf(out, "%u %llu %lld %lld %lld\n", r.spec.vm_id,
                     static_cast<unsigned long long>(s.tag),
                     static_cast<long long>(s.submitting_ns),
                     static_cast<long long>(s.submitted_ns), static_cast<long long>(s.received_ns));
    std::fclose(out);
  }
  std::sort(reports.begin(), reports.end(), [](const VmReport& a, const VmReport& b) {
    return std::tie(a.pool, b.priority, a.spec.vm_id) < std::tie(b.pool, a.priority, b.spec.vm_id);
  });
  std::size_t total = 0;
  bool any_error = false;
  if (json)
    std::printf("[");
  else
    std::printf("%-6s %-14s %-5s %-8s %6s %6s %12s %12s %12s %12s\n", "VM_ID", "NAME", "POOL",
                "PRIORITY", "DONE", "FAILED", "MEAN_WAIT", "P50_WAIT", "P99_WAIT", "P99_RTT");
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto& r = reports[i];
    double mean = 0;
    for (double w : r.waits_ms) mean += w;
    if (!r.waits_ms.empty()) mean /= r.waits_ms.size();
    total += r.done;
    any_error = any_error || !r.error.empty();
    if (json) {
      std::printf(
          "%s{\"vm_id\": %u, \"name\": \"%s\", \"pool\": \"%s\", \"priority\": \"%s\", "
          "\"done\": %zu, \"failed\": %zu, \"mean_wait_ms\": %.3f, \"p50_wait_ms\": %.3f, "
          "\"p99_wait_ms\": %.3f, \"p50_executor_ms\": %.3f, \"p50_round_trip_ms\": %.3f, "
          "\"p99_round_trip_ms\": %.3f, \"breakdown\": %s}",
          i ? ", " : "", r.spec.vm_id, r.spec.label.c_str(), r.pool.c_str(),
          protocol::priority_name(r.priority), r.done, r.failed, mean, percentile(r.waits_ms, 0.5),
          percentile(r.waits_ms, 0.99), percentile(r.executor_ms, 0.5),
          percentile(r.round_trips_ms, 0.5), percentile(r.round_trips_ms, 0.99),
          breakdown_json(r.jobs).c_str());
    } else {
      std::printf("%-6u %-14s %-5s %-8s %6zu %6zu %9.2f ms %9.2f ms %9.2f ms %9.3f ms\n",
                  r.spec.vm_id, r.spec.label.c_str(), r.pool.c_str(),
                  protocol::priority_name(r.priority), r.done, r.failed, mean,
                  percentile(r.waits_ms, 0.5), percentile(r.waits_ms, 0.99),
                  percentile(r.round_trips_ms, 0.99));
    }
  }
  if (json)
    std::printf("]\n");
  else
    std::printf("\n%zu jobs in %.2f s (%.1f jobs/s)\n", total, seconds, total / seconds);
  for (const auto& r : reports)
    if (!r.error.empty()) std::fprintf(stderr, "vm %u: %s\n", r.spec.vm_id, r.error.c_str());
  return any_error ? 1 : 0;
}
