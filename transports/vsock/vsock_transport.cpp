// vsock: the framed protocol (docs/protocol.md) over AF_VSOCK stream sockets, sharing the tcp
// transport's session code. The peer's CID is assigned by the hypervisor, so it proves which VM
// is calling: the core maps it through the DB's vsock_cid and refuses a HELLO that disagrees.
#include <linux/vm_sockets.h>
#include <sys/socket.h>

#include <cstring>

#include "stream_server.hpp"
#include "vgpu/sdk/plugin.hpp"

namespace {

namespace asio = boost::asio;
using Protocol = asio::generic::stream_protocol;
using vgpu::transports::PeerFacts;
using vgpu::transports::StreamServer;

sockaddr_vm address_of(const Protocol::endpoint& ep) {
  sockaddr_vm vm{};
  std::memcpy(&vm, ep.data(), std::min<std::size_t>(ep.size(), sizeof vm));
  return vm;
}

std::string cid_text(unsigned cid) {
  return cid == VMADDR_CID_ANY ? "any" : std::to_string(cid);
}

struct VsockPeer {
  static void configure(Protocol::socket&) {}
  static PeerFacts identify(const Protocol::socket& socket) {
    boost::system::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (ec) return {"vsock peer", "", "unknown"};
    const auto vm = address_of(ep);
    return {"vsock cid " + std::to_string(vm.svm_cid) + " port " + std::to_string(vm.svm_port),
            "vsock-cid:" + std::to_string(vm.svm_cid), "cid " + std::to_string(vm.svm_cid)};
  }
};

Protocol::endpoint vsock_endpoint(unsigned cid, unsigned port) {
  sockaddr_vm vm{};
  vm.svm_family = AF_VSOCK;
  vm.svm_cid = cid;
  vm.svm_port = port;
  return Protocol::endpoint(&vm, sizeof vm, 0);
}

class VsockTransport final : public vgpu::sdk::Transport, public vgpu::sdk::Telemetry {
 public:
  VsockTransport(unsigned cid, unsigned port, vgpu::transports::IoOptions io,
                 vgpu::transports::SharedMemoryOptions shm, vgpu::transports::StreamLimits limits,
                 vgpu::sdk::Logger& log)
      : cid_(cid), server_(vsock_endpoint(cid, port), io, std::move(shm), limits, "vsock", log) {}

  void start(vgpu::sdk::Sink& sink) override {
    try {
      server_.start(sink);
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error(
          "vsock: cannot listen on cid " + cid_text(cid_) + ": " + e.code().message() +
          " (the host needs the vhost_vsock module for guests, vsock_loopback for local tests)");
    }
  }
  void stop() override { server_.stop(); }

  std::vector<vgpu::sdk::Reading> readings() const override {
    return server_.connection_readings();
  }

  std::vector<std::string> endpoints() const override {
    const auto vm = address_of(server_.local_endpoint());
    return {"vsock://" + cid_text(vm.svm_cid) + ":" + std::to_string(vm.svm_port)};
  }

 private:
  unsigned cid_;
  StreamServer<Protocol, VsockPeer> server_;
};

constexpr vgpu::sdk::SettingSpec kVsockSettings[] = {
    // Port 0 lets the kernel choose (tests); guests need a fixed one.
    {"port", vgpu::sdk::SettingType::integer, 0, 0xFFFFFFFE, "7800",
     "the vsock port (0: the kernel picks one)", nullptr},
    {"cid", vgpu::sdk::SettingType::text, 0, 0, "any",
     "the CID to listen on: any, or a number (2 = the host)", nullptr},
};
constexpr auto kSettings =
    vgpu::sdk::join_settings(kVsockSettings, vgpu::transports::kStreamSettings);

std::unique_ptr<vgpu::sdk::Transport> make_vsock_transport(const vgpu::sdk::Settings& settings,
                                                           const vgpu::sdk::PluginContext& ctx) {
  auto port = static_cast<unsigned>(settings.integer("port"));
  if (port == 0) port = VMADDR_PORT_ANY;
  const auto cid = settings.text("cid");
  auto stream = vgpu::transports::read_stream_settings(settings);
  unsigned listen_cid = VMADDR_CID_ANY;
  if (cid != "any") {
    try {
      std::size_t used = 0;
      listen_cid = static_cast<unsigned>(std::stoul(cid, &used));
      if (used != cid.size()) throw std::invalid_argument(cid);
    } catch (const std::exception&) {
      settings.reject("cid", "'cid' must be 'any' or a number (2 = the host), not '" + cid + "'");
    }
  }
  return std::make_unique<VsockTransport>(
      listen_cid, port, stream.io, std::move(stream.shared_memory), stream.limits, ctx.logger());
}

}  // namespace

VGPU_EXPORT_TRANSPORT("vsock", "1.1.0",
                      "the framed protocol over vsock; the hypervisor-assigned CID proves the VM",
                      vgpu::sdk::schema_of(kSettings), make_vsock_transport)
