#include "remote_sessions.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

#include "vgpu/protocol/cuda_calls.hpp"

namespace vgpu::executors::cuda::remote {

namespace cc = cuda_calls;
using sdk::JobResult;
using sdk::Status;

namespace {
std::string text(const std::vector<std::uint8_t>& bytes) {
  return {bytes.begin(), bytes.end()};
}

// The device memory a batch asks for: reserved before it runs, so two sessions of one VM cannot
// both fit the same free part of its quota.
std::uint64_t requested_bytes(std::span<const std::uint8_t> batch) {
  std::uint64_t total = 0;
  for (const auto& call : cc::decode_batch(batch))
    if (const auto* a = std::get_if<cc::MemAlloc>(&call))
      total = a->bytes > UINT64_MAX - total ? UINT64_MAX : total + a->bytes;
  return total;
}

// Whether a batch's answer says every call ran (its result, after the count of calls run, is 0).
bool every_call_ran(std::span<const std::uint8_t> answer) {
  cc::Reader r(answer);
  r.u32("calls_run");
  return r.i32("result") == 0;
}

// How long a chained batch waits for its predecessor to reach the session: that batch was
// handed to a slot first, so it is normally there within microseconds.
constexpr std::chrono::milliseconds kPredecessorGrace{1000};

// Ends a batch in its session's order however calls() returns: as failed unless it ran.
struct BatchEnd {
  BatchOrder* order;
  std::uint64_t seq;
  bool ok = false;
  ~BatchEnd() {
    if (order) order->end(seq, ok);
  }
};

}  // namespace

RemoteSessions::RemoteSessions(SessionsOptions options, MemoryLedger& ledger)
    : options_(std::move(options)), program_(session_program(options_.program)), ledger_(ledger) {
  take_spare();  // the first program's session is ready before it asks
}

RemoteSessions::~RemoteSessions() {
  std::lock_guard lock(mutex_);
  for (auto& [key, session] : sessions_) ledger_.release(key.first, session->held);
  sessions_.clear();
  pools_.clear();
  spare_.reset();
}

bool RemoteSessions::is_remote_op(std::string_view op) {
  return op == cc::kOpOpen || op == cc::kOpCalls || op == cc::kOpClose;
}

std::size_t RemoteSessions::count() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::map<std::uint32_t, std::size_t> RemoteSessions::per_vm() const {
  std::lock_guard lock(mutex_);
  std::map<std::uint32_t, std::size_t> out;
  for (const auto& [key, session] : sessions_) ++out[key.first];
  return out;
}

JobResult RemoteSessions::run(const sdk::Job& job) {
  try {
    if (job.op == cc::kOpOpen) return open(job);
    if (job.op == cc::kOpCalls) return calls(job);
    return close(job);
  } catch (const cc::CallError& e) {
    return JobResult::failure(Status::bad_request, job.op + ": " + e.what());
  } catch (const std::bad_alloc&) {
    return JobResult::failure(Status::execution_error, job.op + ": out of host memory");
  } catch (const std::exception& e) {
    return JobResult::failure(Status::execution_error, job.op + ": " + e.what());
  }
}

void RemoteSessions::forget(const Key& key, Session& session) {
  {
    std::lock_guard lock(mutex_);
    sessions_.erase(key);
  }
  ledger_.release(key.first, session.held);
  session.held = 0;
}

void RemoteSessions::end_idle_sessions() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<Session>> ended;  // their processes stop outside the lock
  {
    std::lock_guard lock(mutex_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      auto& s = *it->second;
      std::unique_lock busy(s.process->mutex, std::try_to_lock);
      if (busy.owns_lock() && now - s.last_used > options_.idle_timeout) {
        ledger_.release(it->first.first, s.held);
        s.held = 0;
        busy.unlock();
        ended.push_back(std::move(it->second));
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

JobResult RemoteSessions::open(const sdk::Job& job) {
  end_idle_sessions();
  const std::uint32_t vm = job.tenant.vm_id;
  {
    std::lock_guard lock(mutex_);
    const auto held = std::count_if(sessions_.begin(), sessions_.end(),
                                    [&](const auto& s) { return s.first.first == vm; });
    if (std::size_t(held) >= options_.max_sessions_per_vm)
      return JobResult::failure(Status::bad_request,
                                "cuda.open: the VM holds its limit of " +
                                    std::to_string(options_.max_sessions_per_vm) +
                                    " CUDA sessions; close one (end a program) first");
  }
  auto session = std::make_shared<Session>();
  session->vm = vm;
  session->quota = job.tenant.memory_quota_bytes ? job.tenant.memory_quota_bytes
                                                 : options_.default_memory_quota_bytes;
  std::optional<Reply> reply;
  session->process = start(job, session->quota, reply);
  // Busy polling is spent on the VMs whose latency counts: a low VM's batches are waited for
  // asleep (its session process sleeps too).
  if (job.tenant.priority <= 0) session->process->set_poll(std::chrono::microseconds(0));
  if (!reply)
    return JobResult::failure(Status::execution_error, "cuda.open: " + session->process->ended());
  if (reply->outcome != Outcome::ok)
    return JobResult::failure(Status::execution_error, "cuda.open: " + text(reply->body));
  auto description = cc::decode_description(reply->body);
  {
    std::lock_guard lock(mutex_);
    description.session = next_session_++;
    sessions_.emplace(Key{vm, description.session}, session);
  }
  JobResult result;
  result.outputs.push_back(cc::encode_description(description));
  // A guest that asks what this host honours is told (an older guest never asks, and finds the
  // one output it expects).
  if (const auto asked = job.param(cc::kFeaturesParam)) {
    const std::string_view honoured =
        cc::lists_feature(*asked, cc::kFeatureOrdered) ? cc::kFeatureOrdered : "";
    result.outputs.emplace_back(honoured.begin(), honoured.end());
  }
  return result;
}

std::unique_ptr<SessionProcess> RemoteSessions::take_spare() {
  if (!options_.spare_session) return nullptr;
  std::lock_guard lock(mutex_);
  auto taken = std::move(spare_);
  try {
    // Starting is a fork and exec; the new process loads the driver and makes its context while
    // this one serves its program.
    spare_ = std::make_unique<SessionProcess>(program_, options_.device, 1, 0, options_.poll);
  } catch (const std::runtime_error&) {
    spare_.reset();  // the next open starts its own, and says why if it cannot
  }
  return taken;
}

std::unique_ptr<SessionProcess> RemoteSessions::start(const sdk::Job& job, std::uint64_t quota,
                                                      std::optional<Reply>& opened) {
  const int level = std::clamp(job.tenant.priority, 0, 2);
  // The open request names the VM's priority level and quota (a spare was started without).
  const std::uint8_t terms[1] = {static_cast<std::uint8_t>(level)};
  if (!options_.shared_pools.count(job.tenant.pool)) {
    if (auto spare = take_spare()) {
      opened = spare->ask(SessionRequest::open, quota, terms);
      if (opened) return spare;  // else it died waiting (the GPU was lost): start afresh
    }
    auto process =
        std::make_unique<SessionProcess>(program_, options_.device, level, quota, options_.poll);
    opened = process->ask(SessionRequest::open, quota, terms);
    return process;
  }
  // A pool's process refuses new sessions once a fault lost its context: then a fresh one.
  for (int attempt = 0;; ++attempt) {
    std::shared_ptr<PoolProcess> pool;
    {
      std::lock_guard lock(mutex_);
      auto& slot = pools_[job.tenant.pool];
      if (!slot)
        slot = std::make_shared<PoolProcess>(program_, options_.device, options_.poll,
                                             options_.high_reserved_sms);
      pool = slot;
    }
    std::unique_ptr<SessionProcess> process;
    try {
      process = std::make_unique<SessionProcess>(pool, level, quota, options_.poll);
      opened = process->ask(SessionRequest::open, quota, terms);
    } catch (const std::runtime_error&) {
      if (attempt > 0) throw;
    }
    if (opened || attempt > 0) return process;
    std::lock_guard lock(mutex_);
    if (pools_[job.tenant.pool] == pool) pools_.erase(job.tenant.pool);
  }
}

std::shared_ptr<RemoteSessions::Session> RemoteSessions::find(const sdk::Job& job, std::string& why,
                                                              std::uint64_t& id) {
  const auto param = job.param(cc::kSessionParam);
  if (!param ||
      std::from_chars(param->data(), param->data() + param->size(), id).ec != std::errc{}) {
    why = job.op + ": parameter 'session' is missing or not a number";
    return nullptr;
  }
  std::lock_guard lock(mutex_);
  // Keyed by the VM the core resolved: a session number from another VM finds nothing.
  auto it = sessions_.find(Key{job.tenant.vm_id, id});
  if (it == sessions_.end()) {
    why = job.op + ": unknown session " + std::to_string(id) +
          " (ended, idle too long, or not this VM's)";
    return nullptr;
  }
  return it->second;
}

std::string RemoteSessions::give_shared_memory(Session& session, const sdk::Job& job) {
  // The region comes from the transport that proved the job's VM, and the session is that VM's,
  // so a session only ever maps its own VM's memory.
  if (job.output_places.empty() || job.output_places[0].region == session.shared_memory) return {};
  const auto& region = job.output_places[0].region;
  const std::string& path = region->name();
  auto reply =
      session.process->ask(SessionRequest::shared_memory, 0,
                           {reinterpret_cast<const std::uint8_t*>(path.data()), path.size()});
  if (!reply) return session.process->ended();
  if (reply->outcome != Outcome::ok) return text(reply->body);
  session.shared_memory = region;
  return {};
}

JobResult RemoteSessions::calls(const sdk::Job& job) {
  std::string why;
  std::uint64_t id = 0;
  auto session = find(job, why, id);
  if (!session) return JobResult::failure(Status::bad_request, why);
  if (job.inputs.size() != 1)
    return JobResult::failure(Status::bad_request, "cuda.calls: takes one input, the batch");
  const auto order = cc::parse_batch_place(job.param(cc::kSeqParam), job.param(cc::kChainedParam));
  if (!order.error.empty())
    return JobResult::failure(Status::bad_request, "cuda.calls: " + order.error);
  auto turn = BatchOrder::Turn::run;
  if (order.chained) turn = session->order.wait_for_predecessor(order.seq, kPredecessorGrace);
  std::lock_guard busy(session->process->mutex);
  // From here the batch counts as begun in its session's order, and as failed unless it ran.
  BatchEnd ended{order.seq ? &session->order : nullptr, order.seq};
  if (order.seq) {
    const auto at_turn = session->order.begin(order.seq, order.chained);
    if (turn == BatchOrder::Turn::run) turn = at_turn;
  }
  if (turn == BatchOrder::Turn::predecessor_missing)
    return JobResult::failure(
        Status::execution_error,
        "cuda.calls: batch " + std::to_string(order.seq) + " not run: batch " +
            std::to_string(order.seq - 1) +
            " did not reach the session first (refused on its way, or held back)");
  if (turn == BatchOrder::Turn::predecessor_failed)
    return JobResult::failure(Status::execution_error,
                              "cuda.calls: batch " + std::to_string(order.seq) +
                                  " not run: batch " + std::to_string(order.seq - 1) +
                                  " of this session failed");
  const std::uint64_t wanted = requested_bytes(job.inputs[0]);  // bad batch: throws, nothing runs
  session->last_used = std::chrono::steady_clock::now();
  // Reserve what the batch may allocate (or what is left of the quota, when that is less: the
  // session then refuses the allocation that does not fit, with the quota's name).
  std::uint64_t granted = 0;
  if (wanted) {
    if (!ledger_.reserve(session->vm, wanted, session->quota)) {
      granted = wanted;
    } else if (session->quota) {
      const std::uint64_t in_use = ledger_.in_use(session->vm);
      const std::uint64_t left = session->quota > in_use ? session->quota - in_use : 0;
      if (left && !ledger_.reserve(session->vm, left, session->quota)) granted = left;
    }
  }
  session->held += granted;
  // The session's budget: what it holds with this batch's reservation, plus what is still free of
  // the quota (which only mem_info reports: every allocation of the batch is reserved above).
  std::uint64_t budget = UINT64_MAX;
  if (session->quota) {
    const std::uint64_t in_use = ledger_.in_use(session->vm);
    budget = session->held + (session->quota > in_use ? session->quota - in_use : 0);
  }
  if (auto why = give_shared_memory(*session, job); !why.empty())
    return JobResult::failure(Status::execution_error, "cuda.calls: " + why);
  auto reply =
      session->process->ask(SessionRequest::calls, budget, job.inputs[0], options_.batch_timeout);
  if (!reply) {
    const std::string ended = session->process->ended();
    forget(Key{job.tenant.vm_id, id}, *session);
    return JobResult::failure(Status::execution_error,
                              "cuda.calls: " + ended + "; the session is over");
  }
  // Charge what the session really holds now.
  if (reply->bytes_held < session->held) {
    ledger_.release(session->vm, session->held - reply->bytes_held);
    session->held = reply->bytes_held;
  }
  if (reply->outcome == Outcome::bad_request)
    return JobResult::failure(Status::bad_request, "cuda.calls: " + text(reply->body));
  if (reply->outcome != Outcome::ok)
    return JobResult::failure(Status::execution_error, "cuda.calls: " + text(reply->body));
  ended.ok = every_call_ran(reply->body);
  JobResult result;
  result.outputs.push_back(std::move(reply->body));
  return result;
}

JobResult RemoteSessions::close(const sdk::Job& job) {
  std::string why;
  std::uint64_t id = 0;
  auto session = find(job, why, id);
  if (!session) return JobResult::failure(Status::bad_request, why);
  std::lock_guard busy(session->process->mutex);  // a batch still running finishes first
  session->process->ask(SessionRequest::close);
  forget(Key{job.tenant.vm_id, id}, *session);
  return JobResult{};
}

}  // namespace vgpu::executors::cuda::remote
