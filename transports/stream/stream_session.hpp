// One client connection speaking the framed protocol (docs/protocol.md), for any Asio stream
// socket. It is three things at once, each entered from its own threads:
//
//   role                        entered by                       touches
//   frame reader (read_header,  the session's strand (an I/O     header_, meta_, reading_,
//   on_meta, read_body, the     thread), one handler at a time   in_frame_, paused_, the
//   watchdog, close)                                             partial-frame budget
//   sdk::ReplyChannel           any thread: an executor's that   the send side below
//   (deliver) and FlowControl   finished a job, the scheduler's,
//   (backlogged)                or the strand inside submit()
//   RingSource                  the ring poller's thread, or     rings_ (its own lock); frames
//   (drain_submit_ring)         the strand after a NUDGE         go to admit() like socket ones
//
// The send side (the outbox, tags in flight, whether a write is under way, and the socket's
// descriptor for direct writes) can only be reached with its lock held (Guarded<SendSide>). A
// result is written straight from the thread that delivers it when nothing else is being written
// (OutgoingFrame::write_without_blocking): handing it to the I/O thread would wake that thread,
// which at a probe's pace costs more than the write itself. What cannot be written at once is
// queued, and the strand's write_next() finishes it. closed_ is atomic and set with the send lock
// held, so no thread writes to a closed descriptor.
#pragma once

#include <boost/asio.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "guarded.hpp"
#include "outgoing_frame.hpp"
#include "ring_poller.hpp"
#include "session_rings.hpp"
#include "shared_extents.hpp"
#include "shared_regions.hpp"
#include "stream_guards.hpp"
#include "vgpu/protocol/wire.hpp"
#include "vgpu/sdk/context.hpp"
#include "vgpu/sdk/transport.hpp"

namespace vgpu::transports {

namespace asio = boost::asio;

// What the accepting side knows about a peer before it says anything: a name for logs, the
// address HELLO failures are counted against (IP or CID, without the port) and, when the socket
// itself proves the VM (vsock), the hypervisor-assigned address in sdk::PeerIdentity's
// "<kind>:<value>" form.
struct PeerFacts {
  std::string description;
  std::string bound_address;  // empty: the socket proves nothing
  std::string address;
};

template <typename Socket>
class StreamSession : public sdk::ReplyChannel,
                      public sdk::FlowControl,
                      public RingSource,
                      public std::enable_shared_from_this<StreamSession<Socket>> {
 public:
  using OnClosed = std::function<void(StreamSession*)>;

  // `regions` (may be null: none configured) and `poller` (null: nobody polls rings) must
  // outlive the session.
  StreamSession(Socket socket, sdk::Sink& sink, sdk::Logger& log, std::string transport,
                PeerFacts peer, SharedRegions* regions, RingPoller* poller, StreamGuards& guards,
                OnClosed on_closed)
      : socket_(std::move(socket)),
        sink_(sink),
        log_(log),
        transport_(std::move(transport)),
        peer_(std::move(peer.description)),
        peer_address_(std::move(peer.address)),
        bound_address_(std::move(peer.bound_address)),
        regions_(regions),
        poller_(poller),
        guards_(guards),
        on_closed_(std::move(on_closed)),
        max_frame_(sink.max_frame_bytes()),
        watchdog_(socket_.get_executor()),
        retry_(socket_.get_executor()) {}

  void start() {
    asio::dispatch(socket_.get_executor(), [self = this->shared_from_this()] {
      self->arm_watchdog();
      self->read_header();
    });
  }

  // Closes at once with an ERROR naming why (the server refuses or evicts the connection).
  void refuse(sdk::Status status, std::string why) {
    asio::dispatch(socket_.get_executor(), [self = this->shared_from_this(), status, why] {
      if (!self->closing_) self->reject(status, 0, why);
    });
  }

  // Whether HELLO succeeded (any thread).
  bool authenticated() const { return authenticated_.load(); }

  void deliver(std::uint64_t tag, sdk::JobResult r) override {
    if (closed_) return;
    {
      // The tag is free again before its RESULT can reach the client, so the client may reuse it
      // as soon as it reads the RESULT.
      send_.lock()->tags_in_flight.erase(tag);
    }
    // Outputs already in the client's shared memory: only their sizes travel.
    const bool placed = !r.placed_sizes.empty();
    const std::uint64_t data_bytes = placed ? 0 : wire::total_size(r.outputs);
    if (data_bytes > max_frame_ - std::min<std::size_t>(max_frame_, wire::kResultMetaRoom)) {
      // The core refuses built-in ops whose output cannot fit before they run; this catches any
      // other (a plugin's op): the client is told, and the frame limit it was given holds.
      return deliver_checked(
          tag,
          sdk::JobResult::failure(sdk::Status::bad_request,
                                  "the result's " + std::to_string(data_bytes) +
                                      " bytes of output exceed this connection's frame limit of " +
                                      std::to_string(max_frame_) +
                                      " bytes (max_frame_bytes); ask for shared memory"),
          false);
    }
    deliver_checked(tag, std::move(r), placed);
  }

  // sdk::FlowControl: the core holds this connection's next jobs while its client has more
  // unread results than allowed; reading the socket stops too (read_header).
  bool backlogged() const override {
    if (!vm_id_) return false;
    if (unsent_bytes_.load(std::memory_order_relaxed) > guards_.limits.max_unsent_bytes)
      return true;
    return guards_.unsent.vm_over_limit(*vm_id_);
  }

  // RingSource: the poller's thread.
  bool drain_submit_ring() override {
    try {
      return rings_.drain([this](const wire::FrameHeader& h, std::span<const std::uint8_t> f) {
        take_ring_frame(h, f.subspan(wire::kHeaderSize));
      });
    } catch (const std::exception& e) {
      // As for a malformed frame on the socket: an ERROR, and this connection closes.
      const auto status = dynamic_cast<const wire::WireError*>(&e) ? sdk::Status::bad_request
                                                                   : sdk::Status::internal_error;
      asio::post(socket_.get_executor(),
                 [self = this->shared_from_this(), status, why = std::string(e.what())] {
                   self->reject(status, 0, why);
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
  // A data section's buffer is committed this much at a time, as its bytes arrive: a peer
  // holds at most one piece more than it really sent.
  static constexpr std::size_t kBodyPiece = 1 << 20;
  // How often a connection that waits (for memory, or for its client to read) looks again.
  static constexpr std::chrono::milliseconds kRetryInterval{5};

  using Outgoing = OutgoingFrame;
  struct SendSide {
    std::deque<Outgoing> outbox;                       // frames waiting for the socket
    std::unordered_set<std::uint64_t> tags_in_flight;  // SUBMITted, RESULT not yet sent
    bool writing = false;  // an asynchronous write owns the socket's writing side
  };

  void deliver_checked(std::uint64_t tag, sdk::JobResult r, bool placed) {
    wire::ResultMeta meta{static_cast<std::uint16_t>(r.status),
                          std::move(r.message),
                          static_cast<std::uint64_t>(r.queued.count()),
                          static_cast<std::uint64_t>(r.usage.wall.count()),
                          static_cast<std::uint64_t>(r.usage.device.count()),
                          r.dispatch_sequence,
                          placed ? std::move(r.placed_sizes) : wire::sizes_of(r.outputs)};
    if (meta.message.size() > UINT16_MAX) meta.message.resize(UINT16_MAX);
    auto prefix = wire::frame_prefix(wire::FrameType::result, tag, meta,
                                     wire::total_size(r.outputs), placed ? wire::kFlagShared : 0);
    // A RESULT without data goes through the result ring when the client has one and it fits.
    if (r.outputs.empty()) {
      // Under the send lock: after a close nothing is pushed, and the ring and the socket see
      // results in the order they were delivered.
      auto send_side = send_.lock();
      if (closed_) return;
      if (auto client_sleeps = rings_.try_push_result(prefix)) {
        send_side.unlock();
        if (*client_sleeps) send({wire::empty_frame(wire::FrameType::nudge, 0), {}});
        return;
      }
    }
    send({std::move(prefix), std::move(r.outputs)});
  }

  // Strand. Reads the next frame's header, unless the client has too many unread results
  // (then it waits: backpressure, docs/protocol.md "Limits and timeouts").
  void read_header() {
    if (closing_) return;
    in_frame_ = false;
    if (backlogged()) {
      if (!paused_)
        log_.info(transport_ + " " + peer_ + ": not reading requests while " +
                  std::to_string(unsent_now()) + " bytes of results wait unread");
      paused_ = true;
      return retry_later([](StreamSession& s) { s.read_header(); });
    }
    paused_ = false;
    asio::async_read(socket_, asio::buffer(header_),
                     [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                       if (ec) return self->close();
                       self->on_header();
                     });
  }

  std::size_t unsent_now() const { return unsent_bytes_.load(); }

  // Strand: runs `then` on this session after kRetryInterval, unless it closed meanwhile.
  template <typename Then>
  void retry_later(Then then) {
    retry_.expires_after(kRetryInterval);
    retry_.async_wait([self = this->shared_from_this(), then](boost::system::error_code ec) {
      if (ec || self->closing_) return;
      then(*self);
    });
  }

  // Strand: every tick, closes a connection that has not said HELLO in time, or that stopped
  // sending in the middle of a frame.
  void arm_watchdog() {
    const auto tick = std::max<std::chrono::milliseconds>(
        std::chrono::milliseconds(25),
        std::min(guards_.limits.hello_timeout, guards_.limits.frame_timeout) / 4);
    watchdog_.expires_after(tick);
    watchdog_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (ec || self->closing_) return;
      const auto now = std::chrono::steady_clock::now();
      const auto& limits = self->guards_.limits;
      if (!self->vm_id_ && now - self->opened_at_ > limits.hello_timeout)
        return self->reject(sdk::Status::unauthenticated, 0,
                            "no HELLO within " + std::to_string(limits.hello_timeout.count()) +
                                " ms (hello_timeout_ms)");
      if (self->in_frame_ && now - self->last_progress_ > limits.frame_timeout)
        return self->reject(sdk::Status::bad_request, self->head_.tag,
                            "no progress on a frame for " +
                                std::to_string(limits.frame_timeout.count()) +
                                " ms (frame_timeout_ms)");
      self->arm_watchdog();
    });
  }

  void on_header() {
    try {
      head_ = wire::decode_header(header_, max_frame_);
    } catch (const wire::WireError& e) {
      return reject(sdk::Status::bad_request, 0, e.what());
    }
    in_frame_ = true;
    last_progress_ = std::chrono::steady_clock::now();
    meta_.resize(head_.meta_len);
    asio::async_read(socket_, asio::buffer(meta_),
                     [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                       if (ec) return self->close();
                       self->last_progress_ = std::chrono::steady_clock::now();
                       self->on_meta();
                     });
  }

  // Strand. No exception leaves a frame's handling: a bad frame, a refused allocation or any
  // other failure closes this connection with an ERROR, and nothing else.
  void on_meta() {
    try {
      switch (head_.type) {
        case wire::FrameType::hello:
          return on_hello(wire::decode_hello(meta_));
        case wire::FrameType::submit:
          if (!require_hello()) return;
          return on_submit(wire::decode_submit(meta_, head_.flags));
        case wire::FrameType::cancel:
          if (!require_hello()) return;
          sink_.cancel(*this, head_.tag);
          return read_header();
        case wire::FrameType::ping:
          if (!require_hello()) return;
          send({wire::empty_frame(wire::FrameType::pong, head_.tag), {}});
          return read_header();
        case wire::FrameType::nudge:  // the client wrote into its submit ring while unwatched
          if (!require_hello()) return;
          drain_submit_ring();
          return read_header();
        default:
          return reject(sdk::Status::bad_request, head_.tag,
                        "frame type " + std::to_string(int(head_.type)) +
                            " is sent by the mediator, not to it");
      }
    } catch (const wire::WireError& e) {
      reject(sdk::Status::bad_request, head_.tag, e.what());
    } catch (const std::exception& e) {
      reject(sdk::Status::internal_error, head_.tag,
             std::string("the mediator could not handle this frame: ") + e.what());
    }
  }

  void on_hello(const wire::Hello& hello) {
    if (vm_id_) return reject(sdk::Status::bad_request, head_.tag, "HELLO sent twice");
    // Failures are counted per address and claimed VM: one guest guessing another's token is
    // slowed down without locking out other VMs behind the same address (NAT, slirp).
    const std::string throttle_key = peer_address_ + "/vm" + std::to_string(hello.vm_id);
    const auto now = std::chrono::steady_clock::now();
    if (auto wait = guards_.throttle.wait_for(throttle_key, now); wait.count() > 0)
      return reject(sdk::Status::unauthenticated, head_.tag,
                    "too many failed HELLOs from " + peer_address_ + "; try again in " +
                        std::to_string(wait.count()) + " ms");
    sdk::PeerIdentity peer;
    peer.transport = transport_;
    peer.vm_id = hello.vm_id;
    peer.token = hello.token;
    peer.peer_address = peer_;
    if (!bound_address_.empty()) {
      peer.proof = sdk::PeerIdentity::Proof::bound_address;
      peer.bound_address = bound_address_;
    }
    auto outcome = sink_.authenticate(peer);
    if (outcome.status != sdk::Status::ok) {
      guards_.throttle.failed(throttle_key, now);
      return reject(outcome.status, head_.tag, outcome.message);
    }
    guards_.throttle.succeeded(throttle_key);
    vm_id_ = outcome.tenant.vm_id;
    authenticated_ = true;
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
    wire::check_buffer_sizes(submit.buffer_sizes, head_.data_len);
    // Each input's whole size is reserved as address space only: the mediator maps blocks of
    // 1 MiB and more on their own (mallopt in main), and their pages are touched, and so held,
    // only as read_body() commits them. No copy is made as a buffer grows.
    std::vector<sdk::Buffer> inputs(submit.buffer_sizes.size());
    for (std::size_t i = 0; i < inputs.size(); ++i)
      inputs[i].reserve(static_cast<std::size_t>(submit.buffer_sizes[i]));
    reading_ = {head_.tag, std::move(submit), std::move(inputs), 0, 0};
    read_body();
  }

  // Strand. Reads the data section as it arrives, each input into its own buffer, committing
  // the buffer piece by piece: announcing a size holds no memory, and what is held counts against
  // the VM's and the transport's partial-frame budgets (docs/protocol.md, "Limits and timeouts").
  void read_body() {
    auto& r = reading_;
    const auto& sizes = r.submit.buffer_sizes;
    while (r.index < sizes.size() && r.filled == sizes[r.index]) {
      ++r.index;
      r.filled = 0;
    }
    if (r.index == sizes.size()) {
      release_partial();
      admit(r.tag, std::move(r.submit), std::move(r.inputs));
      return read_header();
    }
    sdk::Buffer& buffer = r.inputs[r.index];
    if (r.filled == buffer.size()) {
      const std::size_t want = sizes[r.index];
      const std::size_t next = buffer.size() + std::min(want - buffer.size(), kBodyPiece);
      const std::size_t more = next - buffer.size();
      if (!guards_.partial.try_take(*vm_id_, more)) {
        // Waiting for memory is not the client's stall: its clock restarts once it may go on.
        last_progress_ = std::chrono::steady_clock::now();
        return retry_later([](StreamSession& s) { s.read_body(); });
      }
      partial_held_ += more;
      buffer.resize(next);
    }
    socket_.async_read_some(
        asio::buffer(buffer.data() + r.filled, buffer.size() - r.filled),
        [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
          if (ec) return self->close();
          self->reading_.filled += n;
          self->last_progress_ = std::chrono::steady_clock::now();
          try {
            self->read_body();
          } catch (const wire::WireError& e) {
            self->reject(sdk::Status::bad_request, self->reading_.tag, e.what());
          } catch (const std::exception& e) {
            self->reject(sdk::Status::internal_error, self->reading_.tag,
                         std::string("the mediator could not read this frame: ") + e.what());
          }
        });
  }

  void release_partial() {
    if (partial_held_ && vm_id_) guards_.partial.give_back(*vm_id_, partial_held_);
    partial_held_ = 0;
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
    {
      if (!send_.lock()->tags_in_flight.insert(tag).second)
        throw wire::WireError("tag " + std::to_string(tag) +
                              " is still in flight on this connection (a tag may be reused only "
                              "after its RESULT)");
    }
    sdk::SubmitRequest request;
    request.client_tag = tag;
    request.op = std::move(submit.op);
    request.params = std::move(submit.params);
    request.inputs = std::move(inputs);
    if (submit.deadline_ms) request.deadline = std::chrono::milliseconds(submit.deadline_ms);
    // The rings' place is off limits to every connection of the VM, not only to the one that
    // holds them now: another may hold them, or take them later.
    const auto rings = region_ ? wire::rings_offset_for(region_->size()) : std::nullopt;
    if (auto why = take_shared_memory(submit, region_, rings, request); !why.empty())
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
    guards_.refusals.warn(log_, transport_ + " " + peer_ + ": closing connection: " + message);
    closing_ = true;
    send({wire::frame_prefix(wire::FrameType::error, tag,
                             wire::ErrorMsg{static_cast<std::uint16_t>(status), message}),
          {}});
    close_if_flushed();
  }

  // Any thread. Writes at once when the socket is idle, else queues behind the write under way;
  // what waits is counted as unsent against the connection and its VM.
  void send(Outgoing out) {
    auto send_side = send_.lock();
    if (closed_) return;
    // Holding the send lock with no asynchronous write under way: nobody else writes the socket.
    if (!send_side->writing && out.write_without_blocking(socket_.native_handle())) return;
    count_unsent(*send_side, out);
    send_side->outbox.push_back(std::move(out));
    if (send_side->writing) return;
    send_side->writing = true;
    send_side.unlock();
    asio::post(socket_.get_executor(), [self = this->shared_from_this()] { self->write_next(); });
  }

  // Takes the send side to show its lock is held.
  void count_unsent(SendSide&, Outgoing& out) {
    const std::size_t total = out.total_bytes();
    out.counted = total - std::min(total, out.sent);
    unsent_bytes_ += out.counted;
    if (vm_id_) guards_.unsent.take(*vm_id_, out.counted);
  }
  void uncount_unsent(SendSide&, const Outgoing& out) {
    unsent_bytes_ -= std::min(unsent_bytes_.load(), out.counted);
    if (vm_id_) guards_.unsent.give_back(*vm_id_, out.counted);
  }

  // I/O thread: writes the front of the queue, then the next, until it is empty.
  void write_next() {
    auto send_side = send_.lock();
    if (closed_) return;
    if (send_side->outbox.empty()) {
      send_side->writing = false;
      send_side.unlock();
      close_if_flushed();
      return;
    }
    // The buffers point into the front frame, which stays put until the write completes: only
    // this thread removes frames, and others only append (a deque keeps its elements in place).
    gather_ = send_side->outbox.front().unsent();
    send_side.unlock();
    asio::async_write(socket_, gather_,
                      [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        {
                          auto send_side = self->send_.lock();
                          if (!send_side->outbox.empty()) {
                            self->uncount_unsent(*send_side, send_side->outbox.front());
                            send_side->outbox.pop_front();
                          }
                        }
                        self->write_next();
                      });
  }

  // I/O thread: closes once a closing session has nothing left to write.
  void close_if_flushed() {
    if (!closing_) return;
    if (send_.lock()->writing) return;
    close();
  }

  void close() {
    {
      // Under the lock: a thread writing directly must never see the descriptor closed (or
      // reused by a new connection) half-way.
      auto send_side = send_.lock();
      if (closed_.exchange(true)) return;
      boost::system::error_code ignored;
      socket_.shutdown(Socket::shutdown_both, ignored);
      socket_.close(ignored);
      // Results nobody will read go now, and so does what they counted against the VM.
      for (const auto& out : send_side->outbox) uncount_unsent(*send_side, out);
      send_side->outbox.clear();
      send_side->tags_in_flight.clear();
    }
    watchdog_.cancel();
    retry_.cancel();
    release_partial();
    reading_ = {};
    meta_ = {};
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
  std::string peer_address_;
  std::string bound_address_;
  SharedRegions* regions_;
  RingPoller* poller_;
  StreamGuards& guards_;
  OnClosed on_closed_;
  std::size_t max_frame_;
  asio::steady_timer watchdog_;  // HELLO and mid-frame timeouts
  asio::steady_timer retry_;     // waits for memory, or for the client to read its results
  const std::chrono::steady_clock::time_point opened_at_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_progress_ = opened_at_;
  bool in_frame_ = false;  // a header arrived and its frame is not complete yet
  bool paused_ = false;    // not reading: too many unread results
  std::size_t partial_held_ = 0;
  std::atomic<bool> authenticated_{false};

  wire::HeaderBytes header_{};
  wire::FrameHeader head_{};
  std::vector<std::uint8_t> meta_;
  struct Reading {  // the SUBMIT whose inline inputs are being read from the socket
    std::uint64_t tag = 0;
    wire::Submit submit;
    std::vector<sdk::Buffer> inputs;
    std::size_t index = 0;   // the input being read
    std::size_t filled = 0;  // its bytes so far
  } reading_;
  std::optional<std::uint32_t> vm_id_;
  std::shared_ptr<sdk::SharedRegion> region_;  // the VM's, when granted at HELLO
  SessionRings rings_;                         // when granted at HELLO too

  // The send side, reachable only with its lock held (guarded.hpp). The lock also keeps the
  // socket's descriptor from closing under a thread that writes to it directly.
  Guarded<SendSide> send_;
  std::atomic<std::size_t> unsent_bytes_{0};  // changed with the send lock held, read without it
  std::vector<asio::const_buffer> gather_;    // the write under way's buffers (strand)
  bool closing_ = false;
  std::atomic<bool> closed_{false};
};

}  // namespace vgpu::transports
