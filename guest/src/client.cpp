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

namespace vgpu::guest {

namespace asio = boost::asio;
using asio::ip::tcp;

struct Client::Impl {
  asio::io_context io;
  // Generic, so the same code speaks over TCP and vsock.
  asio::generic::stream_protocol::socket socket{io};
  wire::HelloOk identity;
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
    if (ec) throw ClientError("connection to the mediator at " + where + " lost: " + ec.message());
    Frame f;
    try {
      f.header = wire::decode_header(bytes, SIZE_MAX);
    } catch (const wire::WireError& e) {
      throw ClientError(std::string("the mediator sent a bad frame: ") + e.what());
    }
    f.meta.resize(f.header.meta_len);
    asio::read(socket, asio::buffer(f.meta), ec);
    if (ec) throw ClientError("connection to the mediator at " + where + " lost: " + ec.message());
    if (f.header.type == wire::FrameType::error) {
      auto e = wire::decode_error(f.meta);
      throw ClientError("the mediator refused: " + e.message + " (" +
                        sdk::to_string(static_cast<sdk::Status>(e.status)) + ")");
    }
    return f;
  }

  void write(const std::vector<asio::const_buffer>& buffers) {
    boost::system::error_code ec;
    asio::write(socket, buffers, ec);
    if (ec) throw ClientError("cannot send to the mediator at " + where + ": " + ec.message());
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

  // The next frame for a waiting client: from the result ring or the socket, whichever has one
  // first. Watches both for spin_wait, then says so in the ring and sleeps on the socket, where
  // the mediator's NUDGE (or any frame) wakes it.
  Frame next_frame() {
    if (!rings) return read_frame();
    Frame f;
    auto from_ring = [&] {
      try {
        return rings->try_receive(f.header, f.meta);
      } catch (const wire::WireError& e) {
        throw ClientError(e.what());
      }
    };
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

  RunResult read_result() {
    for (;;) {
      Frame f = next_frame();
      if (f.header.type == wire::FrameType::pong) continue;
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
      r.status = static_cast<sdk::Status>(meta.status);
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
      if (ec) throw ClientError("connection lost while reading a result: " + ec.message());
      return r;
    }
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
  impl->where = host + ":" + std::to_string(port);
  boost::system::error_code ec = asio::error::host_not_found;
  tcp::resolver resolver(impl->io);
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  for (const auto& entry : endpoints) {
    impl->socket.close(ec);
    impl->socket.connect(asio::generic::stream_protocol::endpoint(entry.endpoint()), ec);
    if (!ec) break;
  }
  if (ec) throw ClientError("no mediator at " + impl->where + ": " + ec.message());
  impl->socket.set_option(tcp::no_delay(true), ec);
  return Client::hello(std::move(impl), vm_id, token, options);
}

Client Client::connect_vsock(std::uint32_t cid, std::uint32_t port, std::uint32_t vm_id,
                             const std::string& token, const ConnectOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->where = "vsock cid " + std::to_string(cid) + " port " + std::to_string(port);
  sockaddr_vm address{};
  address.svm_family = AF_VSOCK;
  address.svm_cid = cid;
  address.svm_port = port;
  boost::system::error_code ec;
  impl->socket.connect(asio::generic::stream_protocol::endpoint(&address, sizeof address), ec);
  if (ec) throw ClientError("no mediator at " + impl->where + ": " + ec.message());
  return Client::hello(std::move(impl), vm_id, token, options);
}

namespace {
std::uint16_t hello_flags(const ConnectOptions& options) {
  if (options.rings) return wire::kFlagShared | wire::kFlagRings;
  return options.shared_memory ? wire::kFlagShared : 0;
}
}  // namespace

Client Client::hello(std::unique_ptr<Impl> impl, std::uint32_t vm_id, const std::string& token,
                     const ConnectOptions& options) {
  auto frame =
      wire::frame_prefix(wire::FrameType::hello, 0, wire::Hello{vm_id, token, options.client_name},
                         0, hello_flags(options));
  impl->write({asio::buffer(frame)});
  auto reply = impl->read_frame();
  if (reply.header.type != wire::FrameType::hello_ok)
    throw ClientError("the mediator answered HELLO with frame type " +
                      std::to_string(int(reply.header.type)));
  impl->identity = wire::decode_hello_ok(reply.meta, reply.header.flags);
  return Client(std::move(impl));
}

const wire::HelloOk& Client::identity() const {
  return impl_->identity;
}

std::uint64_t Client::submit(const std::string& op, const std::vector<sdk::Param>& params,
                             const std::vector<sdk::Buffer>& inputs, std::uint32_t deadline_ms) {
  const std::uint64_t tag = impl_->next_tag++;
  auto prefix =
      wire::frame_prefix(wire::FrameType::submit, tag,
                         wire::Submit{op, params, deadline_ms, wire::sizes_of(inputs), {}, {}},
                         wire::total_size(inputs));
  if (inputs.empty()) {
    impl_->send(prefix);
    return tag;
  }
  std::vector<asio::const_buffer> gather{asio::buffer(prefix)};
  for (const auto& b : inputs) gather.push_back(asio::buffer(b));
  impl_->write(gather);
  return tag;
}

RunResult Client::next_result() {
  if (!impl_->waiting.empty()) {
    auto node = impl_->waiting.extract(impl_->waiting.begin());
    return std::move(node.mapped());
  }
  return impl_->read_result();
}

RunResult Client::run(const std::string& op, const std::vector<sdk::Param>& params,
                      const std::vector<sdk::Buffer>& inputs) {
  return wait_for(submit(op, params, inputs));
}

RunResult Client::wait_for(std::uint64_t tag) {
  if (auto it = impl_->waiting.find(tag); it != impl_->waiting.end()) {
    auto r = std::move(it->second);
    impl_->waiting.erase(it);
    return r;
  }
  for (;;) {
    auto r = impl_->read_result();
    if (r.tag == tag) return r;
    impl_->waiting.emplace(r.tag, std::move(r));
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

std::uint64_t Client::submit_shared(const std::string& op, const std::vector<sdk::Param>& params,
                                    const std::vector<wire::Extent>& inputs,
                                    const std::vector<wire::Extent>& outputs,
                                    std::uint32_t deadline_ms) {
  if (impl_->shared.empty())
    throw ClientError("submit_shared needs the shared memory mapped (map_shared_memory)");
  const std::uint64_t tag = impl_->next_tag++;
  wire::Submit submit{op, params, deadline_ms, {}, inputs, outputs};
  auto frame = wire::frame_prefix(wire::FrameType::submit, tag, submit, 0, wire::flags_of(submit));
  impl_->placed[tag] = outputs;
  impl_->send(frame);
  return tag;
}

RunResult Client::run_shared(const std::string& op, const std::vector<sdk::Param>& params,
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

}  // namespace vgpu::guest
