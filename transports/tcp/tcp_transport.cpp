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
    if (ec) return {"peer", std::nullopt, "unknown"};
    std::ostringstream out;
    out << ep;
    return {out.str(), std::nullopt, ep.address().to_string()};
  }
};

class TcpTransport final : public vgpu::sdk::Transport {
 public:
  TcpTransport(asio::ip::tcp::endpoint endpoint, vgpu::transports::IoOptions io,
               vgpu::transports::SharedMemoryOptions shm, vgpu::transports::StreamLimits limits,
               vgpu::sdk::Logger& log)
      : server_(endpoint, io, std::move(shm), limits, "tcp", log) {}

  void start(vgpu::sdk::Sink& sink) override { server_.start(sink); }
  void stop() override { server_.stop(); }

  std::vector<std::string> endpoints() const override {
    std::ostringstream out;
    out << "tcp://" << server_.local_endpoint();
    return {out.str()};
  }

 private:
  StreamServer<asio::ip::tcp, TcpPeer> server_;
};

std::unique_ptr<vgpu::sdk::Transport> make_tcp_transport(const YAML::Node& settings,
                                                         const vgpu::sdk::PluginContext& ctx) {
  vgpu::sdk::SettingsReader reader(settings);
  const auto listen = reader.get<std::string>("listen", "127.0.0.1");
  const auto port = reader.get_in_range<unsigned>("port", 7800, 0, 65535);
  const auto io = vgpu::transports::read_io_options(reader);
  const auto limits = vgpu::transports::read_stream_limits(reader);
  auto shm = vgpu::transports::read_shared_memory_options(reader);
  reader.reject_unknown_keys();
  boost::system::error_code ec;
  auto address = asio::ip::make_address(listen, ec);
  if (ec)
    throw vgpu::sdk::ConfigError(settings["listen"].Mark(),
                                 "'listen' is not an IP address: '" + listen + "'");
  return std::make_unique<TcpTransport>(
      asio::ip::tcp::endpoint(address, static_cast<unsigned short>(port)), io, std::move(shm),
      limits, ctx.logger);
}

}  // namespace

VGPU_EXPORT_TRANSPORT("tcp", "1.0.0", make_tcp_transport)
