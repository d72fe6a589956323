#include "client.hpp"

#include "client_rings.hpp"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <thread>

namespace vgpu::guest {

namespace asio = boost::asio;
using asio::ip::tcp;

// The connection was lost (not refused): with ConnectOptions::reconnect, the client connects
// again instead of passing this on.
class ConnectionLost : public ClientError {
 public:
  using ClientError::ClientError;
};

// Where and as whom to connect: kept, so that the client can connect again by itself.
struct Target {
  bool vsock = false;
  std::string host;
  std::uint16_t tcp_port = 0;
  std::uint32_t cid = 0, vsock_port = 0;
  std::uint32_t vm_id = 0;
  std::string token;
  ConnectOptions options;
};

struct Client::Impl {
  asio::io_context io;
  // Generic, so the same code speaks over TCP and vsock.
  asio::generic::stream_protocol::socket socket{io};
  Target target;
  wire::HelloOk identity;
  std::set<std::uint64_t> in_flight;  // submitted, not yet answered
  unsigned reconnects = 0;
  std::uint64_t next_tag = 1;
  std::map<std::uint64_t, RunResult> waiting;  // results read while waiting for another tag
  std::string where;
  std::chrono::microseconds spin_wait{0};
  std::span<std::uint8_t> shared;       // the whole mapped shared memory, if any
  std::span<std::uint8_t> shared_data;  // the part of it for data: all but the rings
  std::optional<ClientRings> rings;     // once granted and mapped
  std::map<std::uint64_t, std::vector<wire::Extent>> placed;  // submit_shared's output places

  ~Impl() {
    if (!shared.empty()) ::munmap(shared.data(), shared.size());
  }

  // Watches the socket for this long before the blocking read sleeps (see set_spin_wait).
  void spin_until_readable() {
    if (spin_wait.count() == 0) return;
    const auto until = std::chrono::steady_clock::now() + spin_wait;
    boost::system::error_code ec;
    while (socket.available(ec) == 0 && !ec && std::chrono::steady_clock::now() < until) {
    }
  }

  struct Frame {
    wire::FrameHeader header;
    std::vector<std::uint8_t> meta;
  };

  // The next frame from the socket; with spin, watching it for spin_wait first.
  Frame read_frame(bool spin = true) {
    wire::HeaderBytes bytes{};
    boost::system::error_code ec;
    if (spin) spin_until_readable();
    asio::read(socket, asio::buffer(bytes), ec);
    if (ec)
      throw ConnectionLost("connection to the mediator at " + where + " lost: " + ec.message());
    Frame f;
    try {
      f.header = wire::decode_header(bytes, SIZE_MAX);
    } catch (const wire::WireError& e) {
      throw ClientError(std::string("the mediator sent a bad frame: ") + e.what());
    }
    f.meta.resize(f.header.meta_len);
    asio::read(socket, asio::buffer(f.meta), ec);
    if (ec)
      throw ConnectionLost("connection to the mediator at " + where + " lost: " + ec.message());
    if (f.header.type == wire::FrameType::error) {
      auto e = wire::decode_error(f.meta);
      throw ClientError("the mediator refused: " + e.message + " (" +
                        protocol::to_string(static_cast<protocol::Status>(e.status)) + ")");
    }
    return f;
  }

  void write(const std::vector<asio::const_buffer>& buffers) {
    boost::system::error_code ec;
    asio::write(socket, buffers, ec);
    if (ec) throw ConnectionLost("cannot send to the mediator at " + where + ": " + ec.message());
  }

  // A frame without data section (SUBMIT, CANCEL): through the submit ring when there is one
  // and it fits, with a NUDGE when the mediator does not watch it; else by the socket.
  void send(const std::vector<std::uint8_t>& frame) {
    const auto sent = rings ? rings->try_send(frame) : ClientRings::Sent::no;
    if (sent == ClientRings::Sent::yes) return;
    if (sent == ClientRings::Sent::no) return write({asio::buffer(frame)});
    const auto nudge = wire::empty_frame(wire::FrameType::nudge, 0);
    write({asio::buffer(nudge)});
  }

  // A frame from the result ring into `f`, when one is there (rings granted and mapped).
  bool from_result_ring(Frame& f) {
    try {
      return rings && rings->try_receive(f.header, f.meta);
    } catch (const wire::WireError& e) {
      throw ClientError(e.what());
    }
  }

  // The next frame for a waiting client: from the result ring or the socket, whichever has one
  // first. Watches both for spin_wait, then says so in the ring and sleeps on the socket, where
  // the mediator's NUDGE (or any frame) wakes it.
  Frame next_frame() {
    if (!rings) return read_frame();
    Frame f;
    auto from_ring = [&] { return from_result_ring(f); };
    const auto until = std::chrono::steady_clock::now() + spin_wait;
    const bool spin = spin_wait.count() > 0;
    if (spin) rings->set_sleeping(false);
    for (;;) {
      if (from_ring()) return f;
      boost::system::error_code ec;
      const bool readable = socket.available(ec) > 0 || ec;
      if (!readable && spin && std::chrono::steady_clock::now() < until) continue;
      if (!readable) {
        rings->set_sleeping(true);
        if (from_ring()) return f;
      }
      f = read_frame(false);
      if (f.header.type != wire::FrameType::nudge) return f;
    }
  }

  // Opens the socket to the target (no HELLO yet).
  void connect_socket() {
    boost::system::error_code ec = asio::error::host_not_found;
    socket.close(ec);
    if (target.vsock) {
      where =
          "vsock cid " + std::to_string(target.cid) + " port " + std::to_string(target.vsock_port);
      sockaddr_vm address{};
      address.svm_family = AF_VSOCK;
      address.svm_cid = target.cid;
      address.svm_port = target.vsock_port;
      socket.connect(asio::generic::stream_protocol::endpoint(&address, sizeof address), ec);
    } else {
      where = target.host + ":" + std::to_string(target.tcp_port);
      ec = asio::error::host_not_found;
      std::vector<tcp::endpoint> endpoints;
      if (auto address = asio::ip::make_address(target.host, ec); !ec) {
        endpoints.emplace_back(address, target.tcp_port);
      } else {
#ifdef VGPU_NUMERIC_HOSTS_ONLY
        ec = asio::error::host_not_found;  // this build resolves no names (see CMakeLists.txt)
#else
        tcp::resolver resolver(io);
        for (const auto& entry : resolver.resolve(target.host, std::to_string(target.tcp_port), ec))
          endpoints.push_back(entry.endpoint());
#endif
      }
      for (const auto& endpoint : endpoints) {
        socket.close(ec);
        socket.connect(asio::generic::stream_protocol::endpoint(endpoint), ec);
        if (!ec) break;
      }
      if (!ec) socket.set_option(tcp::no_delay(true), ec);
    }
    if (ec) throw ConnectionLost("no mediator at " + where + ": " + ec.message());
  }

  // HELLO, and the identity from HELLO_OK. After a reconnect, rings granted anew are taken
  // over the memory already mapped (the mediator emptied them).
  void say_hello() {
    const auto& o = target.options;
    const std::uint16_t flags = o.rings           ? wire::kFlagShared | wire::kFlagRings
                                : o.shared_memory ? wire::kFlagShared
                                                  : 0;
    auto frame =
        wire::frame_prefix(wire::FrameType::hello, 0,
                           wire::Hello{target.vm_id, target.token, o.client_name}, 0, flags);
    write({asio::buffer(frame)});
    auto reply = read_frame();
    if (reply.header.type != wire::FrameType::hello_ok)
      throw ClientError("the mediator answered HELLO with frame type " +
                        std::to_string(int(reply.header.type)));
    identity = wire::decode_hello_ok(reply.meta, reply.header.flags);
    rings.reset();
    if (!shared.empty()) {
      shared_data = shared;
      if (identity.rings_offset && identity.shared_bytes == shared.size() &&
          shared.size() >= wire::kRingsBytes &&
          *identity.rings_offset <= shared.size() - wire::kRingsBytes) {
        rings.emplace(shared.data() + *identity.rings_offset);
        shared_data = shared.first(*identity.rings_offset);
      }
    }
  }

  // The connection is gone: connect again with back-off (ConnectOptions::reconnect), and answer
  // every job that was in flight "interrupted". Throws `lost` when reconnecting is off or does
  // not succeed within reconnect_for.
  void reconnect(const ConnectionLost& lost) {
    if (!target.options.reconnect) throw lost;
    const auto give_up = std::chrono::steady_clock::now() + target.options.reconnect_for;
    auto wait = std::chrono::milliseconds(50);
    std::string last = lost.what();
    for (;;) {
      try {
        connect_socket();
        say_hello();
        break;
      } catch (const ClientError& e) {
        last = e.what();
      }
      if (std::chrono::steady_clock::now() + wait > give_up)
        throw ConnectionLost(std::string(lost.what()) + "; reconnecting failed for " +
                             std::to_string(target.options.reconnect_for.count()) +
                             " ms, last: " + last);
      std::this_thread::sleep_for(wait);
      wait = std::min(wait * 2, std::chrono::milliseconds(5000));
    }
    ++reconnects;
    for (auto tag : std::exchange(in_flight, {})) {
      RunResult r;
      r.tag = tag;
      r.status = protocol::Status::execution_error;
      r.message = "interrupted: the connection to the mediator was lost (" +
                  std::string(lost.what()) +
                  "); the job may or may not have run. Submit it again if it must run";
      placed.erase(tag);
      waiting.emplace(tag, std::move(r));
    }
  }

  // A result, or — the connection lost and re-established — one of the interrupted ones.
  RunResult next_result_reconnecting() {
    for (;;) {
      if (!waiting.empty()) {
        auto node = waiting.extract(waiting.begin());
        return std::move(node.mapped());
      }
      try {
        return read_result();
      } catch (const ConnectionLost& lost) {
        reconnect(lost);
      }
    }
  }

  // Sends a job's frame; a lost connection is re-established and the job answered
  // "interrupted" with the others.
  template <typename Send>
  void send_job(std::uint64_t tag, Send&& send_frame) {
    in_flight.insert(tag);
    try {
      send_frame();
    } catch (const ConnectionLost& lost) {
      reconnect(lost);
    }
  }

  // A frame that has arrived already, without waiting: from the result ring or the socket.
  std::optional<Frame> frame_if_arrived() {
    for (;;) {
      Frame f;
      if (from_result_ring(f)) return f;
      boost::system::error_code ec;
      if (socket.available(ec) == 0 && !ec) return std::nullopt;
      f = read_frame(false);  // a lost connection throws here, as a waiting read would
      if (f.header.type != wire::FrameType::nudge) return f;
    }
  }

  // A result that has arrived already, without waiting; nullopt when none has.
  std::optional<RunResult> result_if_arrived() {
    while (auto f = frame_if_arrived())
      if (f->header.type != wire::FrameType::pong) return decode_result(std::move(*f));
    return std::nullopt;
  }

  RunResult read_result() {
    for (;;) {
      Frame f = next_frame();
      if (f.header.type == wire::FrameType::pong) continue;
      return decode_result(std::move(f));
    }
  }

  // A RESULT frame's job result (its data read from the socket); any other frame is an error.
  RunResult decode_result(Frame f) {
    if (f.header.type != wire::FrameType::result)
      throw ClientError("unexpected frame type " + std::to_string(int(f.header.type)));
    auto meta = wire::decode_result(f.meta);
    RunResult r;
    r.tag = f.header.tag;
    std::vector<wire::Extent> places;
    if (auto it = placed.find(r.tag); it != placed.end()) {
      places = std::move(it->second);
      placed.erase(it);
    }
    if (f.header.flags & wire::kFlagShared) {
      // The outputs are in shared memory, where this client asked for them.
      if (meta.buffer_sizes.size() > places.size() || f.header.data_len != 0)
        throw ClientError("the mediator placed outputs in shared memory that were not asked for");
      for (std::size_t i = 0; i < meta.buffer_sizes.size(); ++i) {
        if (meta.buffer_sizes[i] > places[i].size)
          throw ClientError("the mediator placed an output larger than its place");
        r.shared_outputs.emplace_back(shared.data() + places[i].offset, meta.buffer_sizes[i]);
      }
      meta.buffer_sizes.clear();  // nothing follows in the frame
    }
    r.status = static_cast<protocol::Status>(meta.status);
    r.message = std::move(meta.message);
    r.queued_ns = meta.queued_ns;
    r.wall_ns = meta.wall_ns;
    r.device_ns = meta.device_ns;
    r.dispatch_sequence = meta.dispatch_sequence;
    try {
      wire::check_buffer_sizes(meta.buffer_sizes, f.header.data_len);
    } catch (const wire::WireError& e) {
      throw ClientError(std::string("the mediator sent a bad RESULT: ") + e.what());
    }
    std::vector<asio::mutable_buffer> targets;
    for (auto size : meta.buffer_sizes) {
      r.outputs.emplace_back(size);
      targets.push_back(asio::buffer(r.outputs.back()));
    }
    boost::system::error_code ec;
    asio::read(socket, targets, ec);
    if (ec) throw ConnectionLost("connection lost while reading a result: " + ec.message());
    in_flight.erase(r.tag);
    return r;
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

Client Client::connect(const std::string& host, std::uint16_t port, std::uint32_t vm_id,
                       const std::string& token, const std::string& client_name) {
  return connect(host, port, vm_id, token, ConnectOptions{client_name});
}

Client Client::connect_vsock(std::uint32_t cid, std::uint32_t port, std::uint32_t vm_id,
                             const std::string& token, const std::string& client_name) {
  return connect_vsock(cid, port, vm_id, token, ConnectOptions{client_name});
}

Client Client::connect(const std::string& host, std::uint16_t port, std::uint32_t vm_id,
                       const std::string& token, const ConnectOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->target = Target{false, host, port, 0, 0, vm_id, token, options};
  return open(std::move(impl));
}

Client Client::connect_vsock(std::uint32_t cid, std::uint32_t port, std::uint32_t vm_id,
                             const std::string& token, const ConnectOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->target = Target{true, "", 0, cid, port, vm_id, token, options};
  return open(std::move(impl));
}

Client Client::open(std::unique_ptr<Impl> impl) {
  impl->connect_socket();
  impl->say_hello();
  return Client(std::move(impl));
}

const wire::HelloOk& Client::identity() const {
  return impl_->identity;
}

std::uint64_t Client::submit(const std::string& op, const std::vector<protocol::Param>& params,
                             const std::vector<protocol::Buffer>& inputs,
                             std::uint32_t deadline_ms) {
  const std::uint64_t tag = impl_->next_tag++;
  auto prefix =
      wire::frame_prefix(wire::FrameType::submit, tag,
                         wire::Submit{op, params, deadline_ms, wire::sizes_of(inputs), {}, {}},
                         wire::total_size(inputs));
  impl_->send_job(tag, [&] {
    if (inputs.empty()) return impl_->send(prefix);
    std::vector<asio::const_buffer> gather{asio::buffer(prefix)};
    for (const auto& b : inputs) gather.push_back(asio::buffer(b));
    impl_->write(gather);
  });
  return tag;
}

RunResult Client::next_result() {
  return impl_->next_result_reconnecting();
}

RunResult Client::run(const std::string& op, const std::vector<protocol::Param>& params,
                      const std::vector<protocol::Buffer>& inputs) {
  return wait_for(submit(op, params, inputs));
}

RunResult Client::wait_for(std::uint64_t tag) {
  if (auto it = impl_->waiting.find(tag); it != impl_->waiting.end()) {
    auto r = std::move(it->second);
    impl_->waiting.erase(it);
    return r;
  }
  for (;;) {
    if (auto it = impl_->waiting.find(tag); it != impl_->waiting.end()) {
      auto r = std::move(it->second);
      impl_->waiting.erase(it);
      return r;
    }
    try {
      auto r = impl_->read_result();
      if (r.tag == tag) return r;
      impl_->waiting.emplace(r.tag, std::move(r));
    } catch (const ConnectionLost& lost) {
      impl_->reconnect(lost);  // `tag` is among the interrupted now
    }
  }
}

bool Client::result_arrived(std::uint64_t tag) {
  for (;;) {
    if (impl_->waiting.count(tag)) return true;
    try {
      auto r = impl_->result_if_arrived();
      if (!r) return false;
      impl_->waiting.emplace(r->tag, std::move(*r));
    } catch (const ConnectionLost& lost) {
      impl_->reconnect(lost);  // `tag` is among the interrupted now
    }
  }
}

std::span<std::uint8_t> Client::map_shared_memory(const std::string& path) {
  const auto& id = impl_->identity;
  if (id.shared_bytes == 0)
    throw ClientError(
        "the mediator granted no shared memory (connect with shared_memory, and the "
        "transport needs shared_memory_dir)");
  if (!impl_->shared.empty()) return impl_->shared_data;
  const std::string file = path.empty() ? id.shared_name : path;
  const int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw ClientError("cannot open shared memory " + file + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || std::uint64_t(st.st_size) != id.shared_bytes) {
    ::close(fd);
    throw ClientError("shared memory " + file + " is " + std::to_string(st.st_size) +
                      " bytes, the mediator's region " + std::to_string(id.shared_bytes) +
                      ": not the same memory");
  }
  void* base = ::mmap(nullptr, id.shared_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int e = errno;
  ::close(fd);
  if (base == MAP_FAILED)
    throw ClientError("cannot map shared memory " + file + ": " + std::strerror(e));
  impl_->shared = {static_cast<std::uint8_t*>(base), id.shared_bytes};
  impl_->shared_data = impl_->shared;
  if (id.rings_offset) {
    if (id.shared_bytes < wire::kRingsBytes ||
        *id.rings_offset > id.shared_bytes - wire::kRingsBytes)
      throw ClientError("the mediator placed the rings outside the shared memory");
    impl_->rings.emplace(impl_->shared.data() + *id.rings_offset);
    impl_->shared_data = impl_->shared.first(*id.rings_offset);
  }
  return impl_->shared_data;
}

std::span<std::uint8_t> Client::shared_memory() const {
  return impl_->shared_data;
}

bool Client::uses_rings() const {
  return impl_->rings.has_value();
}

std::uint64_t Client::submit_shared(const std::string& op,
                                    const std::vector<protocol::Param>& params,
                                    const std::vector<wire::Extent>& inputs,
                                    const std::vector<wire::Extent>& outputs,
                                    std::uint32_t deadline_ms) {
  if (impl_->shared.empty())
    throw ClientError("submit_shared needs the shared memory mapped (map_shared_memory)");
  const std::uint64_t tag = impl_->next_tag++;
  wire::Submit submit{op, params, deadline_ms, {}, inputs, outputs};
  auto frame = wire::frame_prefix(wire::FrameType::submit, tag, submit, 0, wire::flags_of(submit));
  impl_->placed[tag] = outputs;
  impl_->send_job(tag, [&] { impl_->send(frame); });
  return tag;
}

RunResult Client::run_shared(const std::string& op, const std::vector<protocol::Param>& params,
                             const std::vector<wire::Extent>& inputs,
                             const std::vector<wire::Extent>& outputs) {
  return wait_for(submit_shared(op, params, inputs, outputs));
}

void Client::cancel(std::uint64_t tag) {
  impl_->send(wire::empty_frame(wire::FrameType::cancel, tag));
}

void Client::set_spin_wait(std::chrono::microseconds spin) {
  impl_->spin_wait = spin;
}

void Client::ping() {
  auto frame = wire::empty_frame(wire::FrameType::ping, 0);
  impl_->write({asio::buffer(frame)});
  auto reply = impl_->read_frame();
  while (reply.header.type == wire::FrameType::nudge) reply = impl_->read_frame();  // for later
  if (reply.header.type != wire::FrameType::pong)
    throw ClientError("PING was not answered by PONG");
}

void Client::send_raw(const std::vector<std::uint8_t>& bytes) {
  impl_->write({asio::buffer(bytes)});
}

unsigned Client::reconnects() const {
  return impl_->reconnects;
}

}  // namespace vgpu::guest
