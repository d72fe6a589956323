#include "client.hpp"

#include <linux/vm_sockets.h>
#include <sys/socket.h>

#include <boost/asio.hpp>

#include <map>

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

  Frame read_frame() {
    wire::HeaderBytes bytes{};
    boost::system::error_code ec;
    spin_until_readable();
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

  RunResult read_result() {
    for (;;) {
      Frame f = read_frame();
      if (f.header.type == wire::FrameType::pong) continue;
      if (f.header.type != wire::FrameType::result)
        throw ClientError("unexpected frame type " + std::to_string(int(f.header.type)));
      auto meta = wire::decode_result(f.meta);
      RunResult r;
      r.tag = f.header.tag;
      r.status = static_cast<sdk::Status>(meta.status);
      r.message = std::move(meta.message);
      r.queued_ns = meta.queued_ns;
      r.wall_ns = meta.wall_ns;
      r.device_ns = meta.device_ns;
      r.dispatch_sequence = meta.dispatch_sequence;
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
  return Client::hello(std::move(impl), vm_id, token, client_name);
}

Client Client::connect_vsock(std::uint32_t cid, std::uint32_t port, std::uint32_t vm_id,
                             const std::string& token, const std::string& client_name) {
  auto impl = std::make_unique<Impl>();
  impl->where = "vsock cid " + std::to_string(cid) + " port " + std::to_string(port);
  sockaddr_vm address{};
  address.svm_family = AF_VSOCK;
  address.svm_cid = cid;
  address.svm_port = port;
  boost::system::error_code ec;
  impl->socket.connect(asio::generic::stream_protocol::endpoint(&address, sizeof address), ec);
  if (ec) throw ClientError("no mediator at " + impl->where + ": " + ec.message());
  return Client::hello(std::move(impl), vm_id, token, client_name);
}

Client Client::hello(std::unique_ptr<Impl> impl, std::uint32_t vm_id, const std::string& token,
                     const std::string& client_name) {
  auto frame =
      wire::frame_prefix(wire::FrameType::hello, 0, wire::Hello{vm_id, token, client_name});
  impl->write({asio::buffer(frame)});
  auto reply = impl->read_frame();
  if (reply.header.type != wire::FrameType::hello_ok)
    throw ClientError("the mediator answered HELLO with frame type " +
                      std::to_string(int(reply.header.type)));
  impl->identity = wire::decode_hello_ok(reply.meta);
  return Client(std::move(impl));
}

const wire::HelloOk& Client::identity() const {
  return impl_->identity;
}

std::uint64_t Client::submit(const std::string& op, const std::vector<sdk::Param>& params,
                             const std::vector<sdk::Buffer>& inputs, std::uint32_t deadline_ms) {
  const std::uint64_t tag = impl_->next_tag++;
  auto prefix = wire::frame_prefix(wire::FrameType::submit, tag,
                                   wire::Submit{op, params, deadline_ms, wire::sizes_of(inputs)},
                                   wire::total_size(inputs));
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
  const auto tag = submit(op, params, inputs);
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

void Client::cancel(std::uint64_t tag) {
  auto frame = wire::empty_frame(wire::FrameType::cancel, tag);
  impl_->write({asio::buffer(frame)});
}

void Client::set_spin_wait(std::chrono::microseconds spin) {
  impl_->spin_wait = spin;
}

void Client::ping() {
  auto frame = wire::empty_frame(wire::FrameType::ping, 0);
  impl_->write({asio::buffer(frame)});
  auto reply = impl_->read_frame();
  if (reply.header.type != wire::FrameType::pong)
    throw ClientError("PING was not answered by PONG");
}

void Client::send_raw(const std::vector<std::uint8_t>& bytes) {
  impl_->write({asio::buffer(bytes)});
}

}  // namespace vgpu::guest
