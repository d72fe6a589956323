#include "config.hpp"

#include <gtest/gtest.h>

using namespace vgpu::core;

namespace {

const char* kValid = R"(plugin_dirs: [plugins]
database:
  path: data/vgpu.db
  reload_interval_ms: 250
transports:
  - plugin: tcp
    port: 0
policy:
  plugin: strict_priority
executors:
  - plugin: cpu
    workers: 2
limits:
  max_queued_per_vm: 8
stats:
  interval_s: 5
log:
  level: debug
admin:
  socket: admin.sock
shutdown:
  grace_ms: 1500
)";

std::string error_of(const std::string& yaml) {
  try {
    load_config_text(yaml, "test.yaml", "/etc/vgpu");
  } catch (const ConfigFileError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(Config, ParsesEverySection) {
  auto cfg = load_config_text(kValid, "test.yaml", "/etc/vgpu");
  ASSERT_EQ(cfg.plugin_dirs.size(), 1u);
  EXPECT_EQ(cfg.plugin_dirs[0], "/etc/vgpu/plugins") << "relative to the file's folder";
  EXPECT_EQ(cfg.db_path, "/etc/vgpu/data/vgpu.db");
  EXPECT_EQ(cfg.db_reload_interval.count(), 250);
  ASSERT_EQ(cfg.transports.size(), 1u);
  EXPECT_EQ(cfg.transports[0].name, "tcp");
  EXPECT_EQ(cfg.transports[0].settings["port"].as<int>(), 0);
  EXPECT_EQ(cfg.policy.name, "strict_priority");
  EXPECT_EQ(cfg.executors[0].name, "cpu");
  EXPECT_EQ(cfg.limits.max_queued_per_vm, 8u);
  EXPECT_EQ(cfg.limits.max_queued_total, 100000u) << "default kept";
  EXPECT_EQ(cfg.stats_interval.count(), 5);
  EXPECT_EQ(cfg.log_level, "debug");
  EXPECT_EQ(cfg.admin_socket, "/etc/vgpu/admin.sock");
  EXPECT_EQ(cfg.shutdown_grace.count(), 1500);
}

TEST(Config, EmbeddedDefault) {
  auto cfg = embedded_default_config();
  EXPECT_EQ(cfg.transports[0].name, "tcp");
  EXPECT_EQ(cfg.transports[0].settings["listen"].as<std::string>(), "127.0.0.1");
  EXPECT_EQ(cfg.policy.name, "strict_priority");
  ASSERT_EQ(cfg.executors.size(), 2u);
  EXPECT_EQ(cfg.executors[0].name, "cuda");
  EXPECT_EQ(cfg.executors[1].name, "cpu");
  EXPECT_EQ(cfg.db_path.filename(), "vgpu.db");
}

TEST(ConfigErrors, UnknownTopLevelKeyHasLineAndColumn) {
  std::string yaml = kValid;
  yaml += "polcy: fifo\n";
  auto e = error_of(yaml);
  EXPECT_NE(e.find("test.yaml:23:1: unknown key 'polcy'"), std::string::npos) << e;
}

TEST(ConfigErrors, UnknownNestedKey) {
  auto e = error_of(
      "transports: [{plugin: tcp}]\npolicy: {plugin: fifo}\nexecutors: [{plugin: cpu}]\n"
      "limits:\n  max_queued_per_wm: 3\n");
  EXPECT_NE(e.find("test.yaml:5:3: unknown key 'max_queued_per_wm' in limits"), std::string::npos)
      << e;
}

TEST(ConfigErrors, BadValues) {
  const std::string base =
      "transports: [{plugin: tcp}]\npolicy: {plugin: fifo}\nexecutors: [{plugin: cpu}]\n";
  auto e = error_of(base + "limits:\n  max_queued_per_vm: lots\n");
  EXPECT_NE(e.find("test.yaml:5:22: bad value 'lots' for 'max_queued_per_vm'"), std::string::npos)
      << e;
  e = error_of(base + "limits:\n  max_queued_per_vm: -3\n");
  EXPECT_NE(e.find("test.yaml:5:22:"), std::string::npos) << e;
  e = error_of(base + "log:\n  level: loud\n");
  EXPECT_NE(e.find("test.yaml:5:10: 'level' must be one of"), std::string::npos) << e;
  e = error_of(base + "limits:\n  max_frame_bytes: 100\n");
  EXPECT_NE(e.find("at least 4096"), std::string::npos) << e;
}

TEST(ConfigErrors, MissingOrMalformedPluginEntries) {
  auto e = error_of("policy: {plugin: fifo}\nexecutors: [{plugin: cpu}]\n");
  EXPECT_NE(e.find("missing 'transports'"), std::string::npos) << e;
  e = error_of("transports: []\npolicy: {plugin: fifo}\nexecutors: [{plugin: cpu}]\n");
  EXPECT_NE(e.find("test.yaml:1:13: 'transports' must be a non-empty list"), std::string::npos)
      << e;
  e = error_of("transports: [{port: 1}]\npolicy: {plugin: fifo}\nexecutors: [{plugin: cpu}]\n");
  EXPECT_NE(e.find("needs a 'plugin' key"), std::string::npos) << e;
  e = error_of(
      "transports: [{plugin: tcp}]\npolicy: {plugin: ../evil}\nexecutors: [{plugin: cpu}]\n");
  EXPECT_NE(e.find("test.yaml:2:18: plugin name '../evil'"), std::string::npos) << e;
}

TEST(ConfigErrors, YamlSyntaxErrorHasPosition) {
  auto e = error_of("transports: [{plugin: tcp}\npolicy: x\n");
  EXPECT_EQ(e.rfind("test.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find(":2:"), std::string::npos) << e;
  EXPECT_NE(error_of("").find("empty"), std::string::npos);
}

TEST(ConfigErrors, MissingFile) {
  try {
    load_config_file("/nonexistent/vgpu.yaml");
    FAIL();
  } catch (const ConfigFileError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/vgpu.yaml: cannot open"), std::string::npos);
  }
}

// Found by fuzzing: a complex key (`? path`) escaped the loader as YAML::BadConversion, so the
// mediator died with "terminate called" instead of naming the line.
TEST(ConfigErrors, AComplexKeyIsNamedNotThrownThrough) {
  const std::string yaml =
      "database:\n? path: vgpu.db\ntransports:\n  - plugin: tcp\npolicy:\n  plugin: fifo\n"
      "executors:\n  - plugin: cpu\n";
  try {
    load_config_text(yaml, "test.yaml", "/etc/vgpu");
    FAIL() << "accepted";
  } catch (const ConfigFileError& e) {
    EXPECT_NE(std::string(e.what()).find("test.yaml:2:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("must be a plain name"), std::string::npos) << e.what();
  }
}

TEST(ConfigErrors, SecurityRequireTokensMustBeABoolean) {
  const std::string base =
      "transports:\n  - plugin: tcp\npolicy:\n  plugin: fifo\nexecutors:\n  - plugin: cpu\n";
  EXPECT_TRUE(
      load_config_text(base + "security:\n  require_tokens: true\n", "t.yaml", "/").require_tokens);
  EXPECT_FALSE(load_config_text(base, "t.yaml", "/").require_tokens);
  EXPECT_THROW(load_config_text(base + "security:\n  require_tokens: maybe\n", "t.yaml", "/"),
               ConfigFileError);
}

TEST(Config, MetricsAndLogFormat) {
  const std::string base =
      "transports: [{plugin: tcp, port: 7800}]\npolicy: {plugin: fifo}\nexecutors: [{plugin: "
      "cpu}]\n";
  auto cfg = load_config_text(base, "test.yaml", "/etc/vgpu");
  EXPECT_FALSE(cfg.metrics) << "metrics are off unless configured";
  EXPECT_EQ(cfg.log_format, LogFormat::text);
  cfg = load_config_text(base + "metrics: {listen: 127.0.0.1, port: 9780}\nlog: {format: json}\n",
                         "test.yaml", "/etc/vgpu");
  ASSERT_TRUE(cfg.metrics);
  EXPECT_EQ(cfg.metrics->address, "127.0.0.1");
  EXPECT_EQ(cfg.metrics->port, 9780);
  EXPECT_EQ(cfg.log_format, LogFormat::json);
  EXPECT_EQ(load_config_text(base + "metrics: {}\n", "t", "/").metrics->port, 9780);
}

TEST(ConfigErrors, MetricsAndLogFormatValues) {
  const std::string base =
      "transports: [{plugin: tcp, port: 7800}]\npolicy: {plugin: fifo}\nexecutors: [{plugin: "
      "cpu}]\n";
  auto e = error_of(base + "metrics:\n  listen: localhost\n");
  EXPECT_NE(e.find("test.yaml:5:11: 'listen' must be an IP address"), std::string::npos) << e;
  e = error_of(base + "metrics:\n  port: 70000\n");
  EXPECT_NE(e.find("'port' must be 0..65535"), std::string::npos) << e;
  e = error_of(base + "metrics:\n  port: 7800\n");
  EXPECT_NE(e.find("test.yaml:5:9: metrics port 7800 is transport 'tcp''s port"), std::string::npos)
      << e;
  e = error_of(base + "metrics:\n  path: /m\n");
  EXPECT_NE(e.find("path"), std::string::npos) << e;
  e = error_of(base + "log:\n  format: xml\n");
  EXPECT_NE(e.find("bad value 'xml' for 'format': expected text or json"), std::string::npos) << e;
}

TEST(Config, ExecutorDevicesAreTheCoresKeyNotThePlugins) {
  const std::string base =
      "transports: [{plugin: tcp, port: 7800}]\npolicy: {plugin: fifo}\nexecutors:\n";
  auto cfg = load_config_text(base + "  - {plugin: cuda, devices: all, slots: 2}\n", "t", "/");
  ASSERT_TRUE(cfg.executors[0].devices);
  EXPECT_TRUE(cfg.executors[0].devices->all);
  EXPECT_FALSE(cfg.executors[0].settings["devices"]) << "the plugin never sees it";
  EXPECT_EQ(cfg.executors[0].settings["slots"].as<int>(), 2);
  cfg = load_config_text(base + "  - {plugin: cpu, devices: [1, 0, 0]}\n", "t", "/");
  ASSERT_TRUE(cfg.executors[0].devices);
  EXPECT_FALSE(cfg.executors[0].devices->all);
  EXPECT_EQ(cfg.executors[0].devices->numbers, (std::vector<int>{1, 0, 0}));
  cfg = load_config_text(base + "  - {plugin: cpu}\n", "t", "/");
  EXPECT_FALSE(cfg.executors[0].devices) << "no devices: one instance, as before";
}

TEST(ConfigErrors, ExecutorDevicesValues) {
  const std::string base =
      "transports: [{plugin: tcp, port: 7800}]\npolicy: {plugin: fifo}\nexecutors:\n";
  auto e = error_of(base + "  - {plugin: cuda, devices: some}\n");
  EXPECT_NE(e.find("test.yaml:4:29: bad value 'some' for 'devices': expected 'all' or a list"),
            std::string::npos)
      << e;
  e = error_of(base + "  - {plugin: cuda, devices: []}\n");
  EXPECT_NE(e.find("'devices' must be 'all' or a list"), std::string::npos) << e;
  e = error_of(base + "  - {plugin: cuda, devices: [0, -1]}\n");
  EXPECT_NE(e.find("bad device number '-1' in 'devices': expected 0 to 63"), std::string::npos)
      << e;
  e = error_of(base + "  - {plugin: cuda, devices: [64]}\n");
  EXPECT_NE(e.find("bad device number '64'"), std::string::npos) << e;
  e = error_of(base + "  - {plugin: cuda, devices: [0, 1], device: 1}\n");
  EXPECT_NE(e.find("'device' and 'devices' both set"), std::string::npos) << e;
}
