// Accepts connections on any Asio stream protocol and runs a StreamSession for each; owns the
// I/O threads. Shared by the tcp and vsock transports.
#pragma once

#include <boost/asio.hpp>

#include <chrono>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "stream_limits.hpp"
#include "stream_session.hpp"
#include "vgpu/sdk/plugin.hpp"
#include "vgpu/sdk/telemetry.hpp"

namespace vgpu::transports {

// How a stream transport runs its I/O, from the settings every stream transport shares.
struct IoOptions {
  unsigned threads = 1;
  // After handling anything, the first I/O thread polls its sockets for this long before it
  // sleeps: a request arriving meanwhile is read at once instead of after waking the thread
  // (tens of microseconds, more in a VM). Costs one busy CPU core while traffic is recent.
  std::chrono::microseconds busy_poll{0};
};

inline IoOptions read_io_options(const sdk::Settings& settings) {
  IoOptions io;
  io.threads = static_cast<unsigned>(settings.integer("threads"));
  io.busy_poll = std::chrono::microseconds(settings.integer("busy_poll_us"));
  return io;
}

// `shared_memory_dir` (one region file per VM) and `shared_memory_mb` (the size of a region the
// mediator creates). Without a dir, clients get no shared memory.
inline SharedMemoryOptions read_shared_memory_options(const sdk::Settings& settings) {
  SharedMemoryOptions shm;
  shm.dir = settings.text("shared_memory_dir");
  if (!shm.dir.empty() && !shm.dir.is_absolute())
    settings.reject("shared_memory_dir",
                    "'shared_memory_dir' must be an absolute directory path (e.g. /dev/shm/vgpu), "
                    "not '" +
                        shm.dir.string() + "'");
  shm.size_bytes = std::size_t(settings.integer("shared_memory_mb")) << 20;
  return shm;
}

// Everything a stream transport reads from kStreamSettings.
struct StreamSettings {
  IoOptions io;
  StreamLimits limits;
  SharedMemoryOptions shared_memory;
};
inline StreamSettings read_stream_settings(const sdk::Settings& settings) {
  return {read_io_options(settings), read_stream_limits(settings),
          read_shared_memory_options(settings)};
}

// What every stream transport (tcp, vsock) takes besides its address: I/O, shared memory and
// the limits of stream_limits.hpp.
inline constexpr sdk::SettingSpec kStreamIoSettings[] = {
    {"threads", sdk::SettingType::integer, 1, 64, "1", "I/O threads", nullptr},
    {"busy_poll_us", sdk::SettingType::integer, 0, 10'000'000, "0",
     "after any I/O the first thread polls its sockets this long before sleeping (a busy core)",
     nullptr},
    {"shared_memory_dir", sdk::SettingType::text, 0, 0, "",
     "absolute folder of the per-VM shared-memory region files; unset: no shared memory", nullptr},
    {"shared_memory_mb", sdk::SettingType::integer, 1, 65536, "256",
     "the size of a region the mediator creates", nullptr},
};
inline constexpr auto kStreamSettings = sdk::join_settings(kStreamIoSettings, kStreamLimitSettings);

// `Peer` tells what an accepted socket proves and tunes it:
//   static void configure(typename Protocol::socket&);
//   static PeerFacts identify(const typename Protocol::socket&);
template <typename Protocol, typename Peer>
class StreamServer {
 public:
  // For the transport's telemetry: connections open now, and how many of them said HELLO.
  std::vector<sdk::Reading> connection_readings() const {
    std::size_t open = 0, authenticated = 0;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [raw, weak] : sessions_)
        if (auto s = weak.lock(); s && !s->closed()) {
          ++open;
          if (s->authenticated()) ++authenticated;
        }
    }
    return {{"connections_open", "Guest connections open now", {}, double(open)},
            {"connections_authenticated",
             "Open guest connections that proved a VM identity",
             {},
             double(authenticated)}};
  }
  using Socket = typename Protocol::socket;
  using Session = StreamSession<Socket>;

  StreamServer(typename Protocol::endpoint endpoint, IoOptions io, SharedMemoryOptions shm,
               StreamLimits limits, std::string transport, sdk::Logger& log)
      : endpoint_(endpoint),
        io_options_(io),
        regions_(std::move(shm)),
        guards_(limits),
        transport_(std::move(transport)),
        log_(log) {}

  ~StreamServer() { stop(); }

  // Binds at once, so a busy address is an error at start, not later.
  void start(sdk::Sink& sink) {
    sink_ = &sink;
    regions_.prepare();
    acceptor_.open(endpoint_.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint_);
    acceptor_.listen();
    accept_next();
    if (io_options_.busy_poll.count() > 0 && std::thread::hardware_concurrency() < 4)
      log_.warn(transport_ + ": busy_poll_us on a machine with " +
                std::to_string(std::thread::hardware_concurrency()) +
                " CPUs: the polling thread takes a core the jobs need");
    for (unsigned i = 0; i < io_options_.threads; ++i)
      pool_.emplace_back([this, i] {
        if (i == 0 && io_options_.busy_poll.count() > 0)
          run_polling();
        else
          io_.run();
      });
  }

  typename Protocol::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

  void stop() {
    if (pool_.empty()) return;
    asio::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      accept_backoff_.cancel();
    });
    {
      std::lock_guard lock(mutex_);
      for (auto& [raw, weak] : sessions_)
        if (auto s = weak.lock()) s->close_after_flush();
    }
    // Give sessions a moment to flush results already handed to them, then stop regardless.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex_);
        if (sessions_.empty()) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    work_.reset();
    io_.stop();
    for (auto& t : pool_) t.join();
    pool_.clear();
  }

 private:
  // io_.run(), but polling the sockets and the clients' submit rings while the last work was
  // less than busy_poll ago. Before sleeping it marks the rings unwatched, so that a client's
  // next frame comes with a NUDGE on the socket, which wakes it.
  void run_polling() {
    using Clock = std::chrono::steady_clock;
    auto last_work = Clock::now();
    while (!io_.stopped()) {
      const bool handled = io_.poll() > 0;
      if (rings_.poll_once() || handled) {
        last_work = Clock::now();
      } else if (Clock::now() - last_work >= io_options_.busy_poll) {
        if (rings_.prepare_to_sleep()) io_.run_one();  // sleeps until something happens
        last_work = Clock::now();
      }
    }
  }

  void accept_next() {
    acceptor_.async_accept(
        asio::make_strand(io_), [this](boost::system::error_code ec, Socket socket) {
          if (ec) return on_accept_error(ec);
          Peer::configure(socket);
          PeerFacts peer = Peer::identify(socket);
          // Rings are polled only by a polling I/O thread; without one every ring frame is nudged.
          RingPoller* poller = io_options_.busy_poll.count() > 0 ? &rings_ : nullptr;
          auto session = std::make_shared<Session>(std::move(socket), *sink_, log_, transport_,
                                                   peer, &regions_, poller, guards_,
                                                   [this](Session* s) { forget(s); });
          std::shared_ptr<Session> evicted;
          bool over_total = false;
          {
            std::lock_guard lock(mutex_);
            over_total = sessions_.size() >= guards_.limits.max_connections;
            sessions_.emplace(session.get(), session);
            if (!over_total) evicted = admit_unauthenticated(session);
          }
          session->start();
          if (over_total)
            session->refuse(sdk::Status::queue_full,
                            "too many connections (max_connections " +
                                std::to_string(guards_.limits.max_connections) + ")");
          if (evicted)
            evicted->refuse(sdk::Status::unauthenticated,
                            "closed to make room: too many connections without HELLO "
                            "(max_unauthenticated " +
                                std::to_string(guards_.limits.max_unauthenticated) + ")");
          accept_next();
        });
  }

  // Holds mutex_. Tracks a new connection until it says HELLO; returns the oldest connection
  // still without HELLO when there are too many of them (it is closed to make room).
  std::shared_ptr<Session> admit_unauthenticated(const std::shared_ptr<Session>& session) {
    unauthenticated_.remove_if([](const std::weak_ptr<Session>& w) {
      auto s = w.lock();
      return !s || s->closed() || s->authenticated();
    });
    std::shared_ptr<Session> evicted;
    if (unauthenticated_.size() >= guards_.limits.max_unauthenticated) {
      evicted = unauthenticated_.front().lock();
      unauthenticated_.pop_front();
    }
    unauthenticated_.push_back(session);
    return evicted;
  }

  // Out of descriptors (or memory) the listening socket stays readable: accepting again at once
  // would spin. Wait, log at a bounded rate, and make room by closing the oldest connection that
  // has not said HELLO.
  void on_accept_error(boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    guards_.refusals.warn(log_,
                          transport_ + ": accept failed: " + ec.message() + "; retrying shortly");
    std::shared_ptr<Session> oldest;
    {
      std::lock_guard lock(mutex_);
      while (!unauthenticated_.empty() && !oldest) {
        oldest = unauthenticated_.front().lock();
        unauthenticated_.pop_front();
        if (oldest && (oldest->closed() || oldest->authenticated())) oldest.reset();
      }
    }
    if (oldest)
      oldest->refuse(sdk::Status::unauthenticated,
                     "closed to make room: the mediator is out of file descriptors");
    // Soon when a descriptor was freed, else at a pace that costs nothing.
    accept_backoff_.expires_after(std::chrono::milliseconds(oldest ? 10 : 100));
    accept_backoff_.async_wait([this](boost::system::error_code wait_ec) {
      if (!wait_ec && acceptor_.is_open()) accept_next();
    });
  }

  void forget(Session* s) {
    std::lock_guard lock(mutex_);
    sessions_.erase(s);
  }

  typename Protocol::endpoint endpoint_;
  IoOptions io_options_;
  SharedRegions regions_;
  StreamGuards guards_;
  RingPoller rings_;
  std::string transport_;
  sdk::Logger& log_;
  sdk::Sink* sink_ = nullptr;

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  asio::basic_socket_acceptor<Protocol> acceptor_{asio::make_strand(io_)};
  asio::steady_timer accept_backoff_{acceptor_.get_executor()};
  std::vector<std::thread> pool_;

  mutable std::mutex mutex_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
  std::list<std::weak_ptr<Session>> unauthenticated_;  // in the order they connected
};

}  // namespace vgpu::transports
