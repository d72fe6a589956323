// The mediator's Prometheus endpoint and structured logs, through a real mediator: the counts
// follow what guests did, the output passes `promtool check metrics`, a real Prometheus server
// scrapes it, and JSON log lines carry the refusals' fields at a bounded rate.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "guest_helpers.hpp"
#include "http_get.hpp"
#include "mediator_process.hpp"
#include "vgpu/sdk/job.hpp"

using namespace vgpu;
using namespace vgpu::testing;
using namespace std::chrono_literals;

namespace {

const char* kMetricsOn = "metrics:\n  listen: 127.0.0.1\n  port: 0\n";

// The value of the sample `series` (name and labels exactly as exposed), or -1 when absent.
double sample(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

std::string labels_of(const MediatorProcess& m, const std::string& name, const char* pool,
                      const char* priority) {
  return "{vm=\"" + std::to_string(m.vm(name).vm_id) + "\",pool=\"" + pool + "\",priority=\"" +
         priority + "\"";
}

bool have(const std::string& tool) {
  return run_command("command -v " + tool + " >/dev/null 2>&1").exit_code == 0;
}

// Jobs whose outcome the metrics must show: 3 ok for hi, 2 ok + 1 unknown op for lo, and one
// HELLO with a wrong token.
void run_known_traffic(const MediatorProcess& m) {
  auto hi = connect_as(m, "hi");
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(hi.run("vector_add", {{"n", "64"}}).status, sdk::Status::ok);
  auto lo = connect_as(m, "lo");
  for (int i = 0; i < 2; ++i) ASSERT_EQ(lo.run("noop", {}).status, sdk::Status::ok);
  EXPECT_EQ(lo.run("no_such_op", {}).status, sdk::Status::unknown_op);
  EXPECT_NE(refusal([&] {
              guest::Client::connect("127.0.0.1", m.port(), m.vm("hi").vm_id, std::string(32, '0'));
            }),
            "accepted");
}

}  // namespace

TEST(Metrics, TheEndpointCountsWhatGuestsDidInPrometheusFormat) {
  MediatorProcess m({{"hi", "A", "high"}, {"lo", "B", "low"}}, kMetricsOn);
  ASSERT_FALSE(m.metrics_url().empty()) << m.log();
  run_known_traffic(m);
  const auto reply = http_request(m.metrics_url());
  ASSERT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = reply.body;

  const auto hi = labels_of(m, "hi", "A", "high"), lo = labels_of(m, "lo", "B", "low");
  EXPECT_EQ(sample(text, "vgpu_jobs_finished_total" + hi + ",status=\"ok\"}"), 3) << text;
  EXPECT_EQ(sample(text, "vgpu_jobs_finished_total" + lo + ",status=\"ok\"}"), 2) << text;
  EXPECT_EQ(sample(text, "vgpu_jobs_rejected_total" + lo + ",reason=\"unknown_op\"}"), 1) << text;
  EXPECT_EQ(sample(text, "vgpu_hellos_total{transport=\"tcp\",result=\"refused\"}"), 1) << text;
  EXPECT_EQ(sample(text, "vgpu_hellos_total{transport=\"tcp\",result=\"accepted\"}"), 2) << text;
  // Histograms: as many observations as jobs, cumulative buckets ending at the count.
  EXPECT_EQ(sample(text, "vgpu_job_wait_seconds_count" + hi + "}"), 3) << text;
  EXPECT_EQ(sample(text, "vgpu_job_run_seconds_bucket" + hi + ",le=\"+Inf\"}"), 3) << text;
  EXPECT_LE(sample(text, "vgpu_job_run_seconds_bucket" + hi + ",le=\"0.0001\"}"),
            sample(text, "vgpu_job_run_seconds_bucket" + hi + ",le=\"10\"}"));
  EXPECT_EQ(sample(text, "vgpu_jobs_queued" + hi + "}"), 0) << text;
  EXPECT_EQ(sample(text, "vgpu_executor_slots{executor=\"cpu\"}"), 1) << text;
  EXPECT_EQ(sample(text, "vgpu_registered_vms"), 2) << text;
  EXPECT_GT(sample(text, "process_open_fds"), 3) << text;
  EXPECT_GT(sample(text, "process_resident_memory_bytes"), 1 << 20) << text;
  // The stream transport reports its connections through the SDK's Telemetry role.
  EXPECT_GE(sample(text, "vgpu_transport_connections_open{plugin=\"tcp\"}"), 0) << text;
  EXPECT_NE(text.find("vgpu_config_info{source=\""), std::string::npos) << text;

  // The endpoint serves /metrics only, and only reads.
  const std::string base = m.metrics_url().substr(0, m.metrics_url().rfind('/'));
  EXPECT_EQ(http_request(base + "/").status, 404u);
  EXPECT_EQ(http_request(m.metrics_url(), boost::beast::http::verb::post).status, 405u);
  EXPECT_TRUE(m.running());
}

TEST(Metrics, ThePromtoolLinterAcceptsTheOutput) {
  if (!have("promtool"))
    GTEST_SKIP() << "promtool is not installed (Debian package prometheus; scripts/setup.sh "
                    "installs it)";
  MediatorProcess m({{"hi", "A", "high"}, {"lo", "B", "low"}}, kMetricsOn);
  run_known_traffic(m);
  const auto file = m.dir() / "scrape.txt";
  std::ofstream(file) << http_get(m.metrics_url());
  const auto lint = run_command("promtool check metrics < " + file.string());
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
  EXPECT_EQ(lint.output, "") << "promtool has remarks:\n" << lint.output;
}

TEST(Metrics, ARealPrometheusServerScrapesTheMediator) {
  if (!have("prometheus"))
    GTEST_SKIP() << "prometheus is not installed (Debian package prometheus; scripts/setup.sh "
                    "installs it)";
  MediatorProcess m({{"hi", "A", "high"}, {"lo", "B", "low"}}, kMetricsOn);
  run_known_traffic(m);
  const std::string target = m.metrics_url().substr(7, m.metrics_url().rfind('/') - 7);
  std::ofstream(m.dir() / "prometheus.yml")
      << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
      << "scrape_configs:\n  - job_name: vgpu\n    static_configs:\n      - targets: ['" << target
      << "']\n";
  // A free port for Prometheus' own web listener: bind to 0, note it, release it.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto web_port = probe.local_endpoint().port();
  probe.close();
  const std::string web = "127.0.0.1:" + std::to_string(web_port);
  const pid_t prometheus = ::fork();
  if (prometheus == 0) {
    const std::string log = (m.dir() / "prometheus.log").string();
    // The child writes only to its log; without it there is nothing to run for.
    if (!std::freopen(log.c_str(), "w", stderr) || !std::freopen(log.c_str(), "a", stdout))
      ::_exit(126);
    const std::string config = "--config.file=" + (m.dir() / "prometheus.yml").string();
    const std::string data = "--storage.tsdb.path=" + (m.dir() / "tsdb").string();
    const std::string listen = "--web.listen-address=" + web;
    ::execlp("prometheus", "prometheus", config.c_str(), data.c_str(), listen.c_str(),
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto query = [&](const std::string& promql) -> nlohmann::json {
    try {
      return nlohmann::json::parse(
          http_get("http://" + web + "/api/v1/query?query=" + url_encode(promql)));
    } catch (const std::exception&) {
      return nlohmann::json::object();
    }
  };
  const std::string hi_ok =
      "vgpu_jobs_finished_total{vm=\"" + std::to_string(m.vm("hi").vm_id) + "\",status=\"ok\"}";
  const bool scraped = eventually(
      [&] {
        auto r = query(hi_ok);
        return r.value("status", "") == "success" && !r["data"]["result"].empty();
      },
      60s);
  std::string prometheus_log;
  if (!scraped) prometheus_log = run_command("cat " + (m.dir() / "prometheus.log").string()).output;
  ASSERT_TRUE(scraped) << prometheus_log;
  const auto ok = query(hi_ok);
  EXPECT_EQ(ok["data"]["result"][0]["value"][1], "3") << ok.dump();
  EXPECT_EQ(query("up{job=\"vgpu\"}")["data"]["result"][0]["value"][1], "1");
  const auto rejected = query("sum by (reason) (vgpu_jobs_rejected_total)");
  EXPECT_EQ(rejected["data"]["result"][0]["metric"]["reason"], "unknown_op") << rejected.dump();

  // Every query of the Grafana dashboard is valid PromQL over these metrics, with its variables
  // set as "All" would set them.
  const auto dashboard = nlohmann::json::parse(
      std::ifstream(std::string(VGPU_SOURCE_DIR) + "/docs/grafana/vgpu-dashboard.json"));
  int checked = 0;
  for (const auto& panel : dashboard["panels"]) {
    if (panel["type"] != "timeseries") continue;
    for (const auto& target : panel["targets"]) {
      std::string expr = target["expr"];
      expr = std::regex_replace(expr, std::regex("\\$__rate_interval"), "1m");
      expr = std::regex_replace(expr, std::regex("\\$(instance|job)"), ".*");
      const auto r = query(expr);
      EXPECT_EQ(r.value("status", ""), "success") << panel["title"] << ": " << expr << "\n"
                                                  << r.dump();
      ++checked;
    }
  }
  EXPECT_GE(checked, 15);
  // The panels that must show this traffic do.
  const auto used = query("sum by (vm) (vgpu_device_seconds_total) > 0");
  EXPECT_FALSE(used["data"]["result"].empty()) << used.dump();
  ::kill(prometheus, SIGTERM);
  int status = 0;
  ::waitpid(prometheus, &status, 0);
}

TEST(Metrics, TheEndpointMayNotShareAGuestPort) {
  MediatorProcess m({{"hi", "A", "high"}});
  std::ofstream(m.dir() / "clash.yaml")
      << "transports:\n  - plugin: tcp\n    port: 7811\npolicy: {plugin: fifo}\n"
      << "executors:\n  - plugin: cpu\nmetrics:\n  port: 7811\n";
  const auto r = run_command(program("vgpu-mediator").string() + " --check-config --config " +
                             (m.dir() / "clash.yaml").string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("metrics port 7811 is transport 'tcp''s port"), std::string::npos)
      << r.output;
}

TEST(Logs, JsonLinesCarryEachRefusalsVmAndReasonAtABoundedRate) {
  MediatorProcess m({{"hi", "A", "high"}}, "log:\n  level: info\n  format: json\n");
  auto hi = connect_as(m, "hi");
  for (int i = 0; i < 60; ++i) EXPECT_EQ(hi.run("no_such_op", {}).status, sdk::Status::unknown_op);
  ASSERT_EQ(hi.run("noop", {}).status, sdk::Status::ok);  // still served
  std::istringstream lines(m.log());
  int refused = 0, lines_seen = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    ++lines_seen;
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << "not a JSON line: " << line;
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
    if (j.value("event", "") == "job_refused") {
      ++refused;
      EXPECT_EQ(j["vm_id"], std::to_string(m.vm("hi").vm_id)) << line;
      EXPECT_EQ(j["reason"], "unknown_op") << line;
      EXPECT_EQ(j["pool"], "A") << line;
    }
  }
  EXPECT_GT(lines_seen, 3);
  // 60 refusals in well under the 10 s window: the first 20 are logged, the rest counted.
  EXPECT_EQ(refused, 20) << m.log();
}
