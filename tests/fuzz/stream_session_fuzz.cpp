// Fuzz target: the whole server side of a stream connection (transports/stream), fed a byte
// stream as a guest would send it over a socket: header, metadata and data parsing, HELLO,
// SUBMIT with inline data, CANCEL, PING, NUDGE, errors, results written back. The core is a
// small stand-in that accepts vm 1 and answers every job at once with its inputs as outputs.
#include <sys/socket.h>

#include <boost/asio/local/stream_protocol.hpp>

#include "fuzz_input.hpp"
#include "stream_session.hpp"

using namespace vgpu;
namespace asio = boost::asio;
using Socket = asio::local::stream_protocol::socket;
using Session = transports::StreamSession<Socket>;

namespace {

class QuietLog final : public sdk::Logger {
 public:
  void log(sdk::LogLevel, std::string_view) override {}
};

class EchoCore final : public sdk::Sink {
 public:
  sdk::AuthOutcome authenticate(const sdk::PeerIdentity& peer) override {
    sdk::AuthOutcome out;
    if (peer.vm_id != 1) {
      out.status = sdk::Status::unauthenticated;
      out.message = "no";
      return out;
    }
    out.tenant.vm_id = 1;
    out.tenant.pool = "A";
    return out;
  }
  void submit(std::uint32_t, sdk::SubmitRequest request,
              std::shared_ptr<sdk::ReplyChannel> channel) override {
    sdk::JobResult r;
    r.outputs = std::move(request.inputs);
    channel->deliver(request.client_tag, std::move(r));
  }
  void cancel(const sdk::ReplyChannel&, std::uint64_t) override {}
  void disconnected(const sdk::ReplyChannel&) override {}
  std::size_t max_frame_bytes() const override { return 1 << 20; }
  std::vector<std::uint32_t> registered_vms() const override { return {1}; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static QuietLog log;
  static EchoCore core;
  asio::io_context io;
  Socket server(asio::make_strand(io)), client(io);
  asio::local::connect_pair(server, client);
  client.non_blocking(true);
  transports::StreamLimits limits;
  transports::StreamGuards guards(limits);
  bool closed = false;
  auto session = std::make_shared<Session>(std::move(server), core, log, "fuzz",
                                           transports::PeerFacts{"fuzz peer", {}, "fuzz"}, nullptr,
                                           nullptr, guards, [&closed](Session*) { closed = true; });
  session->start();
  // Send the input in pieces of varying size (the first byte says how large), reading
  // whatever the session answers so that it never waits for the reader.
  std::size_t sent = 0;
  const std::size_t piece = 1 + (size ? data[0] : 0) * 16;
  std::uint8_t sink[65536];
  boost::system::error_code ec;
  for (int round = 0; round < 10000 && !closed; ++round) {
    if (sent < size) {
      const auto n = client.write_some(asio::buffer(data + sent, std::min(piece, size - sent)), ec);
      if (!ec) sent += n;
    } else if (client.is_open()) {
      client.shutdown(Socket::shutdown_send, ec);
    }
    io.poll();
    io.restart();
    while (client.read_some(asio::buffer(sink), ec) > 0) {
    }
    if (sent == size && ec && ec != asio::error::would_block) break;
  }
  client.close(ec);
  for (int round = 0; round < 100 && !closed; ++round) {
    io.poll();
    io.restart();
  }
  // The session closed by itself (EOF, or an ERROR for a bad frame); nothing may be left.
  session.reset();
  io.poll();
  return 0;
}
