// One client connection speaking the framed protocol (docs/protocol.md), for any Asio stream
// socket. All of a session's handlers run on its strand; deliver() may be called from any thread.
// A result is written straight from the thread that delivers it when nothing else is being
// written: handing it to the I/O thread would wake that thread, which at a probe's pace costs
// more than the write itself. What cannot be written at once is queued for the I/O thread.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "ring_poller.hpp"
#include "session_rings.hpp"
#include "shared_extents.hpp"
#include "shared_regions.hpp"
#include "vgpu/sdk/context.hpp"
#include "vgpu/sdk/transport.hpp"
#include "vgpu/sdk/wire.hpp"

namespace vgpu::transports {

namespace asio = boost::asio;

// What the accepting side knows about a peer before it says anything: a name for logs and, for
// vsock, the hypervisor-assigned CID that proves which VM it is.
struct PeerFacts {
  std::string description;
  std::optional<std::uint32_t> vsock_cid;
};

template <typename Socket>
class StreamSession : public sdk::ReplyChannel,
                      public RingSource,
                      public std::enable_shared_from_this<StreamSession<Socket>> {
 public:
  using OnClosed = std::function<void(StreamSession*)>;

  // `regions` (may be null: none configured) and `poller` (null: nobody polls rings) must
  // outlive the session.
  StreamSession(Socket socket, sdk::Sink& sink, sdk::Logger& log, std::string transport,
                PeerFacts peer, SharedRegions* regions, RingPoller* poller, OnClosed on_closed)
      : socket_(std::move(socket)),
        sink_(sink),
        log_(log),
        transport_(std::move(transport)),
        peer_(std::move(peer.description)),
        vsock_cid_(peer.vsock_cid),
        regions_(regions),
        poller_(poller),
        on_closed_(std::move(on_closed)),
        max_frame_(sink.max_frame_bytes()) {}

  void start() {
    asio::dispatch(socket_.get_executor(),
                   [self = this->shared_from_this()] { self->read_header(); });
  }

  void deliver(std::uint64_t tag, sdk::JobResult r) override {
    if (closed_) return;
    // Outputs already in the client's shared memory: only their sizes travel.
    const bool placed = !r.placed_sizes.empty();
    wire::ResultMeta meta{static_cast<std::uint16_t>(r.status),
                          std::move(r.message),
                          static_cast<std::uint64_t>(r.queued.count()),
                          static_cast<std::uint64_t>(r.usage.wall.count()),
                          static_cast<std::uint64_t>(r.usage.device.count()),
                          r.dispatch_sequence,
                          placed ? std::move(r.placed_sizes) : wire::sizes_of(r.outputs)};
    auto prefix = wire::frame_prefix(wire::FrameType::result, tag, meta,
                                     wire::total_size(r.outputs), placed ? wire::kFlagShared : 0);
    // A RESULT without data goes through the result ring when the client has one and it fits.
    if (r.outputs.empty()) {
      std::unique_lock lock(send_mutex_);
      if (closed_) return;
      if (auto client_sleeps = rings_.try_push_result(prefix)) {
        lock.unlock();
        if (*client_sleeps) send({wire::empty_frame(wire::FrameType::nudge, 0), {}});
        return;
      }
    }
    send({std::move(prefix), std::move(r.outputs)});
  }

  // RingSource: the poller's thread.
  bool drain_submit_ring() override {
    try {
      return rings_.drain([this](const wire::FrameHeader& h, std::span<const std::uint8_t> f) {
        take_ring_frame(h, f.subspan(wire::kHeaderSize));
      });
    } catch (const wire::WireError& e) {
      // As for a malformed frame on the socket: an ERROR, and this connection closes.
      asio::post(socket_.get_executor(),
                 [self = this->shared_from_this(), why = std::string(e.what())] {
                   self->reject(sdk::Status::bad_request, 0, why);
                 });
      return true;
    }
  }
  void set_watched(bool watched) override { rings_.set_watched(watched); }
  bool submit_ring_empty() const override { return rings_.submit_ring_empty(); }

  // Stops reading, sends what is queued, then closes.
  void close_after_flush() {
    asio::post(socket_.get_executor(), [self = this->shared_from_this()] {
      self->closing_ = true;
      self->close_if_flushed();
    });
  }

  bool closed() const { return closed_; }

 private:
  struct Outgoing {
    std::vector<std::uint8_t> prefix;  // header + metadata
    std::vector<sdk::Buffer> buffers;  // gathered after it, never copied
    std::size_t sent = 0;              // bytes already written from the front
  };

  void read_header() {
    if (closing_) return;
    asio::async_read(socket_, asio::buffer(header_),
                     [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                       if (ec) return self->close();
                       self->on_header();
                     });
  }

  void on_header() {
    try {
      head_ = wire::decode_header(header_, max_frame_);
    } catch (const wire::WireError& e) {
      return reject(sdk::Status::bad_request, 0, e.what());
    }
    meta_.resize(head_.meta_len);
    asio::async_read(socket_, asio::buffer(meta_),
                     [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                       if (ec) return self->close();
                       self->on_meta();
                     });
  }

  void on_meta() {
    try {
      switch (head_.type) {
        case wire::FrameType::hello:
          return on_hello(wire::decode_hello(meta_));
        case wire::FrameType::submit:
          return on_submit(wire::decode_submit(meta_, head_.flags));
        case wire::FrameType::cancel:
          if (!require_hello()) return;
          sink_.cancel(*this, head_.tag);
          return read_header();
        case wire::FrameType::ping:
          send({wire::empty_frame(wire::FrameType::pong, head_.tag), {}});
          return read_header();
        case wire::FrameType::nudge:  // the client wrote into its submit ring while unwatched
          drain_submit_ring();
          return read_header();
        default:
          return reject(sdk::Status::bad_request, head_.tag,
                        "frame type " + std::to_string(int(head_.type)) +
                            " is sent by the mediator, not to it");
      }
    } catch (const wire::WireError& e) {
      reject(sdk::Status::bad_request, head_.tag, e.what());
    }
  }

  void on_hello(const wire::Hello& hello) {
    if (vm_id_) return reject(sdk::Status::bad_request, head_.tag, "HELLO sent twice");
    sdk::PeerIdentity peer;
    peer.transport = transport_;
    peer.vm_id = hello.vm_id;
    peer.token = hello.token;
    peer.peer_address = peer_;
    peer.vsock_cid = vsock_cid_;
    auto outcome = sink_.authenticate(peer);
    if (outcome.status != sdk::Status::ok) {
      log_.warn(transport_ + " " + peer_ + ": HELLO refused: " + outcome.message);
      return reject(outcome.status, head_.tag, outcome.message);
    }
    vm_id_ = outcome.tenant.vm_id;
    wire::HelloOk ok;
    ok.vm_id = outcome.tenant.vm_id;
    ok.priority = static_cast<std::uint8_t>(outcome.tenant.priority);
    ok.pool = outcome.tenant.pool;
    ok.vm_name = outcome.vm_name;
    ok.max_frame = static_cast<std::uint32_t>(max_frame_);
    if (head_.flags & wire::kFlagShared) attach_region(ok, head_.flags & wire::kFlagRings);
    send({wire::frame_prefix(wire::FrameType::hello_ok, head_.tag, ok, 0, wire::flags_of(ok)), {}});
    read_header();
  }

  // The client asked for shared memory: grant the VM's region when this transport has them. A
  // region that cannot be mapped is logged and not granted; the connection works without it.
  // With `rings` the client asked for rings too: granted unless another connection of the VM
  // holds them (then this one uses the socket alone).
  void attach_region(wire::HelloOk& ok, bool rings) {
    if (!regions_ || !regions_->enabled()) return;
    std::shared_ptr<MappedRegion> region;
    try {
      region = regions_->for_vm(*vm_id_);
    } catch (const std::exception& e) {
      log_.warn(transport_ + " " + peer_ + ": vm " + std::to_string(*vm_id_) +
                " gets no shared memory: " + e.what());
      return;
    }
    ok.shared_bytes = region->size();
    ok.shared_name = region->name();
    region_ = region;
    if (!rings) return;
    ok.rings_offset = rings_.open(std::move(region));
    if (!ok.rings_offset) {
      log_.info(transport_ + " " + peer_ + ": vm " + std::to_string(*vm_id_) +
                " gets no rings: another of its connections holds them, or its region is under "
                "1 MiB");
      return;
    }
    if (poller_) poller_->add(this->shared_from_this());
  }

  void on_submit(wire::Submit submit) {
    if (!require_hello()) return;
    wire::check_buffer_sizes(submit.buffer_sizes, head_.data_len);
    std::vector<sdk::Buffer> inputs;
    std::vector<asio::mutable_buffer> targets;
    for (auto size : submit.buffer_sizes) inputs.emplace_back(size);
    for (auto& b : inputs) targets.push_back(asio::buffer(b));
    reading_ = {head_.tag, std::move(submit), std::move(inputs)};
    // Scatter read: each input lands straight in its own buffer.
    asio::async_read(socket_, targets,
                     [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                       if (ec) return self->close();
                       auto& r = self->reading_;
                       self->admit(r.tag, std::move(r.submit), std::move(r.inputs));
                       self->read_header();
                     });
  }

  // A frame from the submit ring (the poller's thread, or the I/O thread after a NUDGE).
  void take_ring_frame(const wire::FrameHeader& h, std::span<const std::uint8_t> meta) {
    switch (h.type) {
      case wire::FrameType::submit: {
        auto submit = wire::decode_submit(meta, h.flags);
        wire::check_buffer_sizes(submit.buffer_sizes, 0);
        return admit(h.tag, std::move(submit), {});
      }
      case wire::FrameType::cancel:
        return sink_.cancel(*this, h.tag);
      default:
        throw wire::WireError("frame type " + std::to_string(int(h.type)) +
                              " does not belong in the submit ring (SUBMIT and CANCEL do)");
    }
  }

  // A whole SUBMIT, its inline inputs read: to the core, or refused alone.
  void admit(std::uint64_t tag, wire::Submit submit, std::vector<sdk::Buffer> inputs) {
    sdk::SubmitRequest request;
    request.client_tag = tag;
    request.op = std::move(submit.op);
    request.params = std::move(submit.params);
    request.inputs = std::move(inputs);
    if (submit.deadline_ms) request.deadline = std::chrono::milliseconds(submit.deadline_ms);
    if (auto why = take_shared_memory(submit, region_, rings_.offset(), request); !why.empty())
      return deliver(tag, sdk::JobResult::failure(sdk::Status::bad_request, why));
    sink_.submit(*vm_id_, std::move(request), this->shared_from_this());
  }

  bool require_hello() {
    if (vm_id_) return true;
    reject(sdk::Status::unauthenticated, head_.tag, "the first frame must be HELLO");
    return false;
  }

  // An error frame, then the connection closes. Nothing else is affected.
  void reject(sdk::Status status, std::uint64_t tag, const std::string& message) {
    log_.warn(transport_ + " " + peer_ + ": closing connection: " + message);
    closing_ = true;
    send({wire::frame_prefix(wire::FrameType::error, tag,
                             wire::ErrorMsg{static_cast<std::uint16_t>(status), message}),
          {}});
    close_if_flushed();
  }

  // Any thread. Writes at once when the socket is idle, else queues behind the write under way.
  void send(Outgoing out) {
    std::unique_lock lock(send_mutex_);
    if (closed_) return;
    if (writing_) {
      outbox_.push_back(std::move(out));
      return;
    }
    if (write_now(out)) return;
    outbox_.push_back(std::move(out));
    writing_ = true;
    lock.unlock();
    asio::post(socket_.get_executor(), [self = this->shared_from_this()] { self->write_next(); });
  }

  // What is left of `out` to write, skipping the bytes already sent.
  static std::vector<asio::const_buffer> unsent(const Outgoing& out) {
    std::vector<asio::const_buffer> left;
    std::size_t skip = out.sent;
    auto add = [&](asio::const_buffer b) {
      const std::size_t cut = std::min(skip, b.size());
      skip -= cut;
      if (b.size() > cut) left.push_back(b + cut);
    };
    add(asio::buffer(out.prefix));
    for (const auto& b : out.buffers) add(asio::buffer(b));
    return left;
  }

  // Writes what the socket takes without blocking; true when all of `out` went. Holds
  // send_mutex_ and nothing is being written asynchronously, so the bytes cannot interleave.
  bool write_now(Outgoing& out) {
    for (;;) {
      const auto left = unsent(out);
      if (left.empty()) return true;
      std::vector<iovec> iov;
      for (const auto& b : left) iov.push_back({const_cast<void*>(b.data()), b.size()});
      msghdr msg{};
      msg.msg_iov = iov.data();
      msg.msg_iovlen = std::min<std::size_t>(iov.size(), IOV_MAX);
      const ssize_t n = ::sendmsg(socket_.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        out.sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      // Full, or broken: the I/O thread's write goes on from here, or reports the error.
      return false;
    }
  }

  // I/O thread: writes the front of the queue, then the next, until it is empty.
  void write_next() {
    std::unique_lock lock(send_mutex_);
    if (closed_) return;
    if (outbox_.empty()) {
      writing_ = false;
      lock.unlock();
      close_if_flushed();
      return;
    }
    // Only this thread removes entries, and others only append: the front stays put.
    const Outgoing& out = outbox_.front();
    lock.unlock();
    gather_ = unsent(out);
    asio::async_write(socket_, gather_,
                      [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        {
                          std::lock_guard lock(self->send_mutex_);
                          if (!self->outbox_.empty()) self->outbox_.pop_front();
                        }
                        self->write_next();
                      });
  }

  // I/O thread: closes once a closing session has nothing left to write.
  void close_if_flushed() {
    if (!closing_) return;
    {
      std::lock_guard lock(send_mutex_);
      if (writing_) return;
    }
    close();
  }

  void close() {
    {
      // Under the lock: a thread writing directly must never see the descriptor closed (or
      // reused by a new connection) half-way.
      std::lock_guard lock(send_mutex_);
      if (closed_.exchange(true)) return;
      boost::system::error_code ignored;
      socket_.shutdown(Socket::shutdown_both, ignored);
      socket_.close(ignored);
    }
    if (poller_) poller_->remove(this);
    rings_.close();
    if (vm_id_) sink_.disconnected(*this);
    if (on_closed_) on_closed_(this);
  }

  Socket socket_;
  sdk::Sink& sink_;
  sdk::Logger& log_;
  std::string transport_;
  std::string peer_;
  std::optional<std::uint32_t> vsock_cid_;
  SharedRegions* regions_;
  RingPoller* poller_;
  OnClosed on_closed_;
  std::size_t max_frame_;

  wire::HeaderBytes header_{};
  wire::FrameHeader head_{};
  std::vector<std::uint8_t> meta_;
  struct Reading {  // the SUBMIT whose inline inputs are being read from the socket
    std::uint64_t tag = 0;
    wire::Submit submit;
    std::vector<sdk::Buffer> inputs;
  } reading_;
  std::optional<std::uint32_t> vm_id_;
  std::shared_ptr<sdk::SharedRegion> region_;  // the VM's, when granted at HELLO
  SessionRings rings_;                         // when granted at HELLO too

  std::mutex send_mutex_;  // outbox_, writing_, and the socket's descriptor for direct writes
  std::deque<Outgoing> outbox_;
  bool writing_ = false;  // the I/O thread owns the socket's writing side
  std::vector<asio::const_buffer> gather_;
  bool closing_ = false;
  std::atomic<bool> closed_{false};
};

}  // namespace vgpu::transports
