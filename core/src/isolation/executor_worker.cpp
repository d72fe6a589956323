#include "executor_worker.hpp"

#include <unistd.h>

#include <cstdlib>

#include "../config.hpp"
#include "../executor_devices.hpp"
#include "../plugin_host/host_context.hpp"
#include "../plugin_host/plugin_loader.hpp"
#include "../spdlog_logger.hpp"
#include "vgpu/sdk/plugin.hpp"
#include "worker_protocol.hpp"

namespace vgpu::core::isolation {

int run_executor_worker(int fd, int rings_fd) {
  Channel channel(fd);
  if (rings_fd >= 0) {
    try {
      channel.use_rings(WorkerRings::attach(rings_fd), /*mediator_end=*/false);
    } catch (const std::exception& e) {
      channel.send(MessageType::failed, std::string("other:") + e.what());
      return 2;
    }
  }
  std::optional<Message> first;
  try {
    first = channel.receive();
  } catch (const ProtocolError&) {
  }
  if (!first || first->type != MessageType::setup) return 2;
  const auto setup = decode_setup(first->payload);
  MediatorConfig config;
  try {
    config = load_config_text(setup.config_text, setup.config_source, setup.base_dir);
  } catch (const ConfigFileError& e) {
    channel.send(MessageType::failed, std::string("config:") + e.what());
    return 2;
  }
  if (setup.executor_index >= config.executors.size()) {
    channel.send(MessageType::failed,
                 "other:no executor entry " + std::to_string(setup.executor_index));
    return 2;
  }
  const auto& spec = config.executors[setup.executor_index];
  channel.set_poll(spec.isolation_poll);
  configure_logging(config.log_level);
  const std::string what = "executor '" + device_name(spec.name, setup.device) +
                           "' in worker process " + std::to_string(::getpid());
  SpdLogger logger(what);  // SpdLogger puts the component in brackets itself
  MetricsRegistry metrics;
  PluginLoader loader(config.plugin_dirs);
  PluginInstance<sdk::Executor> executor;
  try {
    auto library = loader.load(sdk::PluginKind::executor, spec.name);
    executor.context = std::make_unique<HostContext>(logger, metrics, what);
    const YAML::Node settings =
        setup.device < 0 ? spec.settings
                         : settings_for_device(spec, setup.device, *library, config.source);
    executor.object = library->make_executor(settings, *executor.context);
    executor.library = std::move(library);
  } catch (const sdk::ConfigError& e) {
    channel.send(MessageType::failed,
                 "config:" + located(config.source, e.line(), e.column(),
                                     "executor '" + spec.name + "': " + e.what()));
    return 2;
  } catch (const sdk::ExecutorUnavailable& e) {
    channel.send(MessageType::unavailable, e.what());
    return 0;
  } catch (const ConfigFileError& e) {
    channel.send(MessageType::failed, std::string("config:") + e.what());
    return 2;
  } catch (const PluginLoadError& e) {
    channel.send(MessageType::failed, std::string("load:") + e.what());
    return 2;
  } catch (const std::exception& e) {
    channel.send(MessageType::failed, std::string("other:") + e.what());
    return 2;
  }
  sdk::Executor* ex = executor.object.get();
  channel.send(MessageType::ready, encode(ex->info()));

  for (;;) {
    std::optional<Message> message;
    try {
      message = channel.receive();
    } catch (const ProtocolError& e) {
      logger.error(std::string("leaving: ") + e.what());
      break;
    }
    if (!message || message->type == MessageType::shutdown) break;
    if (message->type == MessageType::readings_request) {
      const auto* telemetry = dynamic_cast<const sdk::Telemetry*>(ex);
      channel.send(MessageType::readings,
                   encode(telemetry ? telemetry->readings() : std::vector<sdk::Reading>{}));
      continue;
    }
    if (message->type != MessageType::job) continue;
    auto job = decode_job(message->payload);
    const auto id = job->id;
    ex->execute(std::move(job), [&channel, ex, id](sdk::JobResult result) {
      const auto why = ex->unusable();
      // `lost` goes first, so the mediator sends nothing more here before this job's client
      // (who may send the next job as soon as it has this result) hears back.
      if (why) channel.send(MessageType::lost, *why);
      channel.send(MessageType::result, encode(id, result));
      if (why) {
        // Nothing more can run in this process. The mediator fails what was still in flight
        // here and starts a fresh worker; exiting at once also frees the GPU context.
        std::_Exit(3);
      }
    });
  }
  ex->stop();
  return 0;
}

}  // namespace vgpu::core::isolation
