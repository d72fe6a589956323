#include "mediator.hpp"

#include "config_diff.hpp"
#include "isolation/process_executor.hpp"
#include "token.hpp"
#include "vgpu/protocol/wire.hpp"
#include "vgpu/sdk/ops.hpp"

namespace vgpu::core {

Mediator::Mediator(MediatorConfig config)
    : config_(std::move(config)),
      loader_(config_.plugin_dirs),
      // "sha256:" and 12 hex digits: enough to tell two configurations apart on a dashboard.
      config_digest_(hash_token(config_.text).substr(7, 12)) {}

Mediator::~Mediator() {
  stop();
}

std::unique_ptr<sdk::PluginContext> Mediator::context_for(const std::string& what) {
  plugin_logs_.push_back(std::make_unique<SpdLogger>(what));
  return std::make_unique<HostContext>(*plugin_logs_.back(), metrics_, what);
}

void Mediator::log_loaded(const LoadedLibrary& lib, const std::string& what) {
  log_.info(what + " " + lib.version() + ", built for " + lib.built_for() + ", from " +
            lib.file().string());
}

void Mediator::config_error(const std::string& what, const sdk::ConfigError& e) const {
  throw ConfigFileError(located(config_.source, e.line(), e.column(), what + ": " + e.what()));
}

PluginInstance<sdk::Policy> Mediator::make_policy(const PluginSpec& spec) {
  const std::string what = "policy '" + spec.name + "'";
  PluginInstance<sdk::Policy> policy;
  policy.library = loader_.load(sdk::PluginKind::policy, spec.name);
  policy.context = context_for(what);
  policy.object = policy.library->make_policy(spec.settings, *policy.context);
  log_loaded(*policy.library, what);
  return policy;
}

void Mediator::build() {
  if (built_) return;
  // Executors: the first entry that can start is used, the rest are fallbacks. An entry with
  // `devices:` gives one instance (one lane) per device.
  std::string tried;
  for (std::size_t index = 0; index < config_.executors.size() && lanes_.empty(); ++index) {
    const auto& spec = config_.executors[index];
    const std::string what = "executor '" + spec.name + "'";
    try {
      lanes_ = make_lanes(spec, index);
      device_labels_ = spec.devices.has_value();
      keep_warm_ = spec.keep_warm;
    } catch (const sdk::ConfigError& e) {
      config_error(what, e);
    } catch (const sdk::ExecutorUnavailable& e) {
      tried += "\n  " + what + ": " + e.what();
      log_.warn(what + " is unavailable (" + e.what() + "); trying the next executor");
    } catch (const PluginLoadError& e) {
      tried += "\n  " + what + ": " + e.what();
      log_.warn(what + " cannot be loaded; trying the next executor");
    }
  }
  if (lanes_.empty()) throw PluginLoadError("no configured executor could start:" + tried);
  for (const auto& op : lanes_[0].executor->info().ops) executor_ops_.insert(op);
  if (keep_warm_.count() > 0 && !executor_ops_.count(sdk::ops::kSpin)) {
    log_.warn("keep_warm_us: executor " + executor_name() +
              " has no 'spin' op to warm the path with; warming is off");
    keep_warm_ = {};
  }
  try {
    std::vector<PluginInstance<sdk::Policy>> policies;
    make_policies(config_.policy, policies, placer_);
    for (std::size_t i = 0; i < lanes_.size(); ++i) lanes_[i].policy = std::move(policies[i]);
  } catch (const sdk::ConfigError& e) {
    config_error("policy '" + config_.policy.name + "'", e);
  }
  placement_ = std::make_unique<DevicePlacement>(
      lanes_.size(), [this] { return device_loads(); }, log_);
  placement_->set_placer(dynamic_cast<sdk::Placement*>(placer_.object.get()));
  // Transports.
  for (const auto& spec : config_.transports) {
    const std::string what = "transport '" + spec.name + "'";
    auto lib = loader_.load(sdk::PluginKind::transport, spec.name);
    PluginInstance<sdk::Transport> instance;
    instance.context = context_for(what);
    try {
      instance.object = lib->make_transport(spec.settings, *instance.context);
    } catch (const sdk::ConfigError& e) {
      config_error(what, e);
    }
    log_loaded(*lib, what);
    instance.library = std::move(lib);
    transports_.push_back(std::move(instance));
  }
  built_ = true;
}

void Mediator::start() {
  build();
  db_.emplace(ConfigDb::open(config_.db_path));
  directory_.load_from(*db_);
  log_.info("config DB " + config_.db_path.string() + ": " + std::to_string(directory_.size()) +
            " VMs registered");
  db_watcher_ = std::thread([this] { watch_db(); });
  if (!config_.require_tokens)
    log_.warn(
        "security.require_tokens is off: a VM registered without a token is accepted over tcp "
        "on its vm_id alone");

  for (auto& lane : lanes_) {
    const auto info = lane.executor->info();
    lane.slots = std::max(1u, info.slots);
    log_.info("device " + std::to_string(lane.index) + ": executor " + lane.name + " on " +
              info.device + ", " + std::to_string(info.slots) + " slots; policy " +
              config_.policy.name);
    SchedulerHooks hooks;
    hooks.job_left = [this](std::uint32_t vm_id) { placement_->release(vm_id); };
    hooks.dispatch_counter = &dispatch_counter_;
    hooks.stage_trace = StageTrace::get();  // taken here, before any transport brings a job
    if (lanes_.size() > 1) hooks.device = lane.name;
    lane.scheduler = std::make_unique<Scheduler>(
        *lane.policy, config_.policy.name, *lane.executor,
        SchedulerLimits{config_.limits.max_queued_total, config_.stats_interval, keep_warm_}, log_,
        refusal_log_, std::move(hooks));
    lane.scheduler->start();
  }
  started_ = true;
  for (auto& t : transports_) {
    t->start(*this);
    for (const auto& ep : t->endpoints()) log_.info("listening on " + ep);
  }
  if (!config_.admin_socket.empty()) {
    admin_ = std::make_unique<StatusSocket>(config_.admin_socket,
                                            [this] { return stats_json().dump(); });
    admin_->start();
    log_.info("admin endpoint on " + config_.admin_socket.string());
  }
  if (config_.metrics) {
    metrics_server_ = std::make_unique<metrics::MetricsServer>(
        config_.metrics->address, config_.metrics->port, [this] { return metrics_text(); });
    metrics_server_->start();
    log_.info("metrics on " + metrics_server_->endpoint());
  }
}

std::string Mediator::metrics_endpoint() const {
  return metrics_server_ ? metrics_server_->endpoint() : std::string();
}

void Mediator::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  log_.info("stopping: no new jobs are accepted");
  for (auto& lane : lanes_) lane.scheduler->begin_shutdown();
  const auto grace_end = std::chrono::steady_clock::now() + config_.shutdown_grace;
  for (auto& lane : lanes_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        grace_end - std::chrono::steady_clock::now());
    if (!lane.scheduler->wait_idle(std::max(left, std::chrono::milliseconds(0))))
      log_.warn("running jobs on device " + lane.name +
                " did not finish within the grace period; stopping anyway");
  }
  if (admin_) admin_->stop();
  if (metrics_server_) metrics_server_->stop();  // it reads the plugins stopped below
  for (auto& t : transports_) t->stop();         // flushes the results already delivered
  for (auto& lane : lanes_) lane.executor->stop();
  for (auto& lane : lanes_) lane.scheduler->stop();
  {
    std::lock_guard lock(db_mutex_);
    db_watch_stop_ = true;
  }
  db_wake_.notify_all();
  if (db_watcher_.joinable()) db_watcher_.join();
  log_.info("stopped cleanly");
}

void Mediator::reload_identities() {
  {
    std::lock_guard lock(db_mutex_);
    db_reload_requested_ = true;
  }
  db_wake_.notify_all();
}

void Mediator::reload_config(const MediatorConfig& next) {
  if (!started_ || stopped_) return;
  const auto restart = changes_needing_restart(config_, next);
  if (!restart.empty()) {
    std::string list;
    for (const auto& what : restart) list += (list.empty() ? "" : ", ") + what;
    log_.warn("reload: changed " + list + ": takes effect after a restart (kept as running)");
  }
  if (!policy_changed(config_, next)) {
    log_.info("reload: the policy and its settings are unchanged");
    return;
  }
  const auto& spec = next.policy;
  std::vector<PluginInstance<sdk::Policy>> replacements;
  PluginInstance<sdk::Policy> placer;
  try {
    make_policies(spec, replacements, placer);
  } catch (const sdk::ConfigError& e) {
    log_.error(
        "reload: the policy was not changed: " +
        located(next.source, e.line(), e.column(), "policy '" + spec.name + "': " + e.what()));
    return;
  } catch (const std::exception& e) {
    log_.error("reload: the policy was not changed: " + std::string(e.what()));
    return;
  }
  std::size_t moved = 0;
  for (std::size_t i = 0; i < lanes_.size(); ++i) {
    moved += lanes_[i].scheduler->replace_policy(*replacements[i].object, spec.name);
    // The scheduler no longer uses the old policy: it goes now (its library with it, unless
    // shared).
    lanes_[i].policy = std::move(replacements[i]);
  }
  placement_->set_placer(dynamic_cast<sdk::Placement*>(placer.object.get()));
  placer_ = std::move(placer);
  log_.info("reload: policy " + config_.policy.name + " -> " + spec.name + ", " +
            std::to_string(moved) + " queued jobs moved to it in their order");
  std::lock_guard lock(policy_spec_mutex_);
  config_.policy = spec;
}

// Polls the DB's data_version (cheap: no query of the tables) and reloads when another program
// (vgpu-admin) committed, so a new priority applies to the next job without a restart.
void Mediator::watch_db() {
  std::int64_t seen = db_->data_version();
  std::unique_lock lock(db_mutex_);
  while (!db_watch_stop_) {
    db_wake_.wait_for(lock, config_.db_reload_interval,
                      [this] { return db_watch_stop_ || db_reload_requested_; });
    if (db_watch_stop_) break;
    const bool forced = std::exchange(db_reload_requested_, false);
    lock.unlock();
    try {
      const auto now = db_->data_version();
      if (forced || now != seen) {
        directory_.load_from(*db_);
        seen = now;
        log_.info("config DB reloaded: " + std::to_string(directory_.size()) + " VMs");
      }
    } catch (const std::exception& e) {
      log_.error(std::string("config DB reload failed, keeping the previous identities: ") +
                 e.what());
    }
    lock.lock();
  }
}

std::vector<std::string> Mediator::endpoints() const {
  std::vector<std::string> out;
  for (const auto& t : transports_)
    for (auto& ep : t->endpoints()) out.push_back(std::move(ep));
  return out;
}

std::string Mediator::executor_name() const {
  return lanes_.empty() ? std::string() : lanes_[0].executor->info().name;
}

std::string Mediator::running_config() const {
  YAML::Node root;
  try {
    root = YAML::Load(config_.text);
  } catch (const YAML::Exception&) {
    root = YAML::Node(YAML::NodeType::Map);  // it loaded at start; this cannot fail
  }
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  {
    std::lock_guard lock(policy_spec_mutex_);
    root["policy"] = YAML::Clone(config_.policy.settings);
  }
  return YAML::Dump(root) + "\n";
}

nlohmann::json Mediator::stats_json() {
  std::vector<SchedulerSnapshot> per_device;
  auto out = merged_snapshot(&per_device).to_json();
  // Each device: its executor, load and the VMs placed on it now (docs/multi-gpu.md).
  nlohmann::json devices = nlohmann::json::array();
  const auto vms_on = placement_ ? placement_->vms_per_device() : std::vector<std::size_t>{};
  for (std::size_t i = 0; i < per_device.size(); ++i) {
    const auto& lane = lanes_[i];
    const auto& snap = per_device[i];
    const auto unusable = lane.executor->unusable();
    devices.push_back({{"index", lane.index},
                       {"name", lane.name},
                       {"device", lane.executor->info().device},
                       {"slots", snap.slots},
                       {"running", snap.running_total},
                       {"queued", snap.queued_total},
                       {"dispatched", snap.dispatched_total},
                       {"warm_ups", snap.warm_ups},
                       {"vms_placed", i < vms_on.size() ? vms_on[i] : 0},
                       {"usable", !unusable},
                       {"unusable_reason", unusable.value_or("")}});
    nlohmann::json vms = nlohmann::json::object();
    for (const auto& [vm_id, c] : snap.vms) vms[std::to_string(vm_id)] = c.to_json();
    devices.back()["vms"] = vms;
    // `isolation: process`: which process serves the device (to watch it, or to find it in
    // nvidia-smi), and how often it was replaced.
    if (const auto* process =
            dynamic_cast<const isolation::ProcessExecutor*>(lane.executor.object.get())) {
      devices.back()["worker_pid"] = process->worker_pid();
      devices.back()["worker_restarts"] = process->restarts();
    }
  }
  out["devices"] = devices;
  out["config_source"] = config_.source;
  out["running_config"] = running_config();
  out["metrics"] = metrics_.to_json();
  out["registered_vms"] = directory_.size();
  nlohmann::json hellos = nlohmann::json::object();
  {
    std::lock_guard lock(counts_mutex_);
    for (const auto& [key, n] : hellos_) hellos[key.first][key.second] = n;
  }
  out["hellos"] = hellos;  // per transport: accepted, refused
  return out;
}

sdk::AuthOutcome Mediator::authenticate(const sdk::PeerIdentity& peer) {
  std::string why;
  auto outcome = directory_.authenticate(peer, config_.require_tokens, &why);
  const bool accepted = outcome.status == sdk::Status::ok;
  {
    std::lock_guard lock(counts_mutex_);
    ++hellos_[{peer.transport, accepted ? "accepted" : "refused"}];
  }
  // The guest is told little (IdentityDirectory::authenticate); the host's log says why.
  if (!accepted) refusal_log_.hello_refused(peer.transport, peer.peer_address, why);
  return outcome;
}

void Mediator::submit(std::uint32_t vm_id, sdk::SubmitRequest request,
                      std::shared_ptr<sdk::ReplyChannel> channel) {
  // Resolved again for every job: a priority or pool change applies to the next job.
  auto identity = directory_.find(vm_id);
  auto refuse = [&](sdk::Status status, std::string why) {
    const std::string pool = identity ? identity->tenant.pool : "";
    const int priority = identity ? identity->tenant.priority : 0;
    count_refusal(vm_id, pool, priority, status);
    refusal_log_.job_refused(vm_id, pool, status, why);
    channel->deliver(request.client_tag, sdk::JobResult::failure(status, std::move(why)));
  };
  if (!identity)
    return refuse(sdk::Status::unauthenticated,
                  "vm_id " + std::to_string(vm_id) + " is no longer registered in the config DB");
  // The original protocol's command words (VECTOR_ADD, MATRIX_MUL, ...) name the same ops on
  // every transport.
  if (!executor_ops_.count(request.op))
    if (auto mapped = protocol::from_legacy_command(request.op);
        mapped && executor_ops_.count(*mapped))
      request.op = *mapped;
  if (!executor_ops_.count(request.op)) {
    std::string supported;
    for (const auto& op : executor_ops_) supported += (supported.empty() ? "" : ", ") + op;
    return refuse(sdk::Status::unknown_op, "unknown op '" + request.op + "': executor " +
                                               executor_name() + " supports " + supported);
  }
  auto job = std::make_shared<sdk::Job>();
  job->id = next_job_id_++;
  job->client_tag = request.client_tag;
  job->tenant = identity->tenant;
  job->op = std::move(request.op);
  job->params = std::move(request.params);
  job->inputs = std::move(request.inputs);
  job->output_places = std::move(request.output_places);
  // An output that cannot travel back in one frame is refused before it runs, unless it goes to
  // the client's shared memory.
  if (job->output_places.empty()) {
    try {
      const std::uint64_t out = sdk::ops::output_bytes(*job);
      const std::uint64_t limit = config_.limits.max_frame_bytes;
      const std::uint64_t room = limit > wire::kResultMetaRoom ? limit - wire::kResultMetaRoom : 0;
      if (out > room)
        return refuse(sdk::Status::bad_request,
                      job->op + "'s output of " + std::to_string(out) +
                          " bytes does not fit a frame (limits.max_frame_bytes " +
                          std::to_string(config_.limits.max_frame_bytes) +
                          "); ask for shared memory, or split the job");
    } catch (const sdk::ops::OpError& e) {
      return refuse(sdk::Status::bad_request, e.what());
    }
  }
  job->enqueued_at = sdk::Clock::now();
  if (request.deadline) job->deadline = job->enqueued_at + *request.deadline;
  const std::size_t limit = identity->max_queued.value_or(config_.limits.max_queued_per_vm);
  // The VM's device: where its earlier jobs still are, else its pin, else placement. Counted
  // there until the scheduler lets the job go (SchedulerHooks::job_left).
  const auto device = placement_->acquire(job->tenant, identity->device_pin);
  if (const auto* why = std::get_if<std::string>(&device))
    return refuse(sdk::Status::internal_error,
                  *why + "; the operator must change the pin or the mediator's devices");
  lanes_[std::get<std::size_t>(device)].scheduler->submit(std::move(job), std::move(channel),
                                                          limit);
}

void Mediator::cancel(const sdk::ReplyChannel& channel, std::uint64_t client_tag) {
  // Cheap for the devices that never had the job: they find no such tag.
  for (auto& lane : lanes_) lane.scheduler->cancel(&channel, client_tag);
}

void Mediator::disconnected(const sdk::ReplyChannel& channel) {
  for (auto& lane : lanes_) lane.scheduler->disconnected(&channel);
}

}  // namespace vgpu::core
