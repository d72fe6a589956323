// tcp: listens on an address and port, authenticates each connection by its HELLO
// (vm_id + token, checked by the core against the DB) and carries framed requests.
#include <sstream>

#include "stream_server.hpp"
#include "vgpu/sdk/plugin.hpp"

namespace {

namespace asio = boost::asio;
using vgpu::transports::PeerFacts;
using vgpu::transports::StreamServer;

// TCP proves nothing about the peer: the HELLO's token does.
struct TcpPeer {
  static void configure(asio::ip::tcp::socket& socket) {
    boost::system::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);  // results are latency-bound
  }
  static PeerFacts identify(const asio::ip::tcp::socket& socket) {
    boost::system::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (ec) return {"peer", "", "unknown"};
    std::ostringstream out;
    out << ep;
    return {out.str(), "", ep.address().to_string()};
  }
};

class TcpTransport final : public vgpu::sdk::Transport, public vgpu::sdk::Telemetry {
 public:
  TcpTransport(asio::ip::tcp::endpoint endpoint, vgpu::transports::IoOptions io,
               vgpu::transports::SharedMemoryOptions shm, vgpu::transports::StreamLimits limits,
               vgpu::sdk::Logger& log)
      : server_(endpoint, io, std::move(shm), limits, "tcp", log) {}

  void start(vgpu::sdk::Sink& sink) override { server_.start(sink); }
  void stop() override { server_.stop(); }

  std::vector<vgpu::sdk::Reading> readings() const override {
    return server_.connection_readings();
  }

  std::vector<std::string> endpoints() const override {
    std::ostringstream out;
    out << "tcp://" << server_.local_endpoint();
    return {out.str()};
  }

 private:
  StreamServer<asio::ip::tcp, TcpPeer> server_;
};

constexpr vgpu::sdk::SettingSpec kTcpSettings[] = {
    {"listen", vgpu::sdk::SettingType::text, 0, 0, "127.0.0.1",
     "the IP address to listen on (0.0.0.0: every interface)", nullptr},
    {"port", vgpu::sdk::SettingType::integer, 0, 65535, "7800",
     "the TCP port (0: the kernel picks one; the log names it)", nullptr},
};
constexpr auto kSettings =
    vgpu::sdk::join_settings(kTcpSettings, vgpu::transports::kStreamSettings);

std::unique_ptr<vgpu::sdk::Transport> make_tcp_transport(const vgpu::sdk::Settings& settings,
                                                         const vgpu::sdk::PluginContext& ctx) {
  const auto listen = settings.text("listen");
  const auto port = settings.integer("port");
  auto stream = vgpu::transports::read_stream_settings(settings);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(listen, ec);
  if (ec) settings.reject("listen", "'listen' is not an IP address: '" + listen + "'");
  return std::make_unique<TcpTransport>(
      asio::ip::tcp::endpoint(address, static_cast<unsigned short>(port)), stream.io,
      std::move(stream.shared_memory), stream.limits, ctx.logger());
}

}  // namespace

VGPU_EXPORT_TRANSPORT("tcp", "1.1.0", "the framed protocol over TCP; a VM proves itself by token",
                      vgpu::sdk::schema_of(kSettings), make_tcp_transport)
