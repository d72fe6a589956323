// The programs' command lines: config checking, vgpu-client's forms and errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "mediator_process.hpp"

using namespace vgpu::testing;

namespace {

// One scratch folder for the whole process, removed when it exits (it was left behind once).
std::filesystem::path scratch(const std::string& name) {
  static const struct Folder {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("vgpu-cli-" + std::to_string(::getpid()));
    Folder() { std::filesystem::create_directories(path); }
    ~Folder() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  } folder;
  return folder.path / name;
}

CommandResult check_config(const std::string& yaml) {
  auto file = scratch("check.yaml");
  std::ofstream(file) << yaml;
  return run_command(program("vgpu-mediator").string() + " --check-config --config " +
                     file.string());
}

}  // namespace

TEST(MediatorCli, CheckConfigAcceptsAGoodConfig) {
  auto r = check_config(
      "transports: [{plugin: tcp, port: 0}]\npolicy: {plugin: fifo}\n"
      "executors: [{plugin: cpu, workers: 2}]\n");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("configuration OK"), std::string::npos) << r.output;
}

TEST(MediatorCli, CheckConfigNamesFileLineAndColumn) {
  auto r = check_config(
      "transports: [{plugin: tcp}]\npolicy: {plugin: fifo}\nexecutors: [{plugin: cpu}]\nlimts: "
      "{}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("check.yaml:4:1: unknown key 'limts'"), std::string::npos) << r.output;
}

TEST(MediatorCli, PluginSettingErrorsCarryThePosition) {
  auto r = check_config(
      "transports: [{plugin: tcp}]\npolicy: {plugin: fifo}\nexecutors:\n  - plugin: cpu\n    "
      "workrs: 2\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("check.yaml:5:5: executor 'cpu': unknown setting 'workrs'"),
            std::string::npos)
      << r.output;
  r = check_config(
      "transports: [{plugin: tcp, listen: nowhere}]\npolicy: {plugin: fifo}\nexecutors: [{plugin: "
      "cpu}]\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("'listen' is not an IP address"), std::string::npos) << r.output;
}

TEST(MediatorCli, MissingPluginIsNamed) {
  auto r = check_config(
      "transports: [{plugin: tcp}]\npolicy: {plugin: lottery}\nexecutors: [{plugin: cpu}]\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("libvgpu-policy-lottery.so"), std::string::npos) << r.output;
}

TEST(MediatorCli, ExecutorFallbackWhenTheFirstIsMissing) {
  auto r = check_config(
      "transports: [{plugin: tcp}]\npolicy: {plugin: fifo}\n"
      "executors: [{plugin: imaginary}, {plugin: cpu}]\n");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("executor cpu"), std::string::npos) << r.output;
}

TEST(MediatorCli, BusyPortIsAClearStartError) {
  MediatorProcess first({{"a1", "A", "high"}});
  auto file = scratch("busy.yaml");
  std::ofstream(file) << "database: {path: " << scratch("busy.db").string() << "}\n"
                      << "transports: [{plugin: tcp, port: " << first.port() << "}]\n"
                      << "policy: {plugin: fifo}\nexecutors: [{plugin: cpu}]\n";
  auto r =
      run_command("timeout 10 " + program("vgpu-mediator").string() + " --config " + file.string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot start"), std::string::npos) << r.output;
}

TEST(ClientCli, RunsOpsInBothForms) {
  MediatorProcess m({{"a1", "A", "high"}});
  const std::string base = program("vgpu-client").string() + " --port " + std::to_string(m.port()) +
                           " --vm-id " + std::to_string(m.vm("a1").vm_id) + " --token " +
                           m.vm("a1").token;
  auto r = run_command(base + " run vector_add --n 8 --seed 2");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("vector_add ok: 8 values"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("pool A, priority high"), std::string::npos) << r.output;
  r = run_command(base + " VECTOR_ADD");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("vector_add ok: 1024 values"), std::string::npos) << r.output;
  r = run_command(base + " run spin -p us=bad");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("spin failed: bad_request"), std::string::npos) << r.output;
}

// `vgpu-client probe`: paced jobs, their round trips as percentiles, and with shared memory the
// speed of this VM's reads and writes there (read back and checked). A failing op is counted and
// named, and the exit status says so.
TEST(ClientCli, ProbeReportsRoundTripsAndTheSharedMemorysSpeed) {
  const auto shm = scratch("probe-shm");
  std::filesystem::create_directories(shm);
  MediatorProcess m({{"p1", "A", "high"}}, "", "strict_priority", 1,
                    "    shared_memory_dir: " + shm.string() + "\n    shared_memory_mb: 4\n");
  const std::string base = program("vgpu-client").string() + " --port " + std::to_string(m.port()) +
                           " --vm-id " + std::to_string(m.vm("p1").vm_id) + " --token " +
                           m.vm("p1").token;
  auto r = run_command(base + " --rings probe spin -p us=300 --count 20 --interval-ms 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto report = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(report.at("done"), 20);
  EXPECT_EQ(report.at("failed"), 0);
  EXPECT_GE(report.at("p50_us").get<double>(), 300) << "a 300 us spin cannot come back sooner";
  EXPECT_GE(report.at("p99_us").get<double>(), report.at("p50_us").get<double>());
  EXPECT_EQ(report.at("rings"), true);
  EXPECT_GT(report.at("write_gb_s").get<double>(), 0);
  EXPECT_GT(report.at("read_gb_s").get<double>(), 0) << "-1 would mean it read back wrong";

  r = run_command(base + " probe spin -p us=bad --count 3 --interval-ms 1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("3 failed, the first: parameter 'us'"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("write_gb_s"), std::string::npos) << "no shared memory was asked for";
}

TEST(ClientCli, ClearErrorsForNoDeviceAndNoMediator) {
  auto r = run_command(program("vgpu-client").string() + " --sysfs-root /nonexistent info");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.output.find("no vgpu-stub device"), std::string::npos) << r.output;
  r = run_command(program("vgpu-client").string() + " --port 1 --vm-id 1 run noop");
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.output.find("no mediator at 127.0.0.1:1"), std::string::npos) << r.output;
}

TEST(MediatorCli, WithoutAGpuCudaFallsBackOrFailsAsConfigured) {
  if (!std::filesystem::exists(build_dir() / "plugins/libvgpu-executor-cuda.so"))
    GTEST_SKIP() << "the cuda executor is not built here (no CUDA toolkit)";
  auto fallback = check_config(
      "transports: [{plugin: tcp}]\npolicy: {plugin: fifo}\n"
      "executors: [{plugin: cuda}, {plugin: cpu}]\n");
  ASSERT_EQ(fallback.exit_code, 0) << fallback.output;
  if (fallback.output.find("executor cuda") != std::string::npos)
    GTEST_SKIP() << "a GPU is present: the no-GPU paths cannot be shown here";
  EXPECT_NE(fallback.output.find("executor 'cuda' is unavailable (no CUDA device"),
            std::string::npos)
      << fallback.output;
  EXPECT_NE(fallback.output.find("executor cpu"), std::string::npos) << fallback.output;

  auto only_cuda = check_config(
      "transports: [{plugin: tcp}]\npolicy: {plugin: fifo}\n"
      "executors: [{plugin: cuda}]\n");
  EXPECT_EQ(only_cuda.exit_code, 2);
  EXPECT_NE(only_cuda.output.find("no configured executor could start"), std::string::npos)
      << only_cuda.output;
  EXPECT_NE(only_cuda.output.find("no CUDA device"), std::string::npos) << only_cuda.output;
}
