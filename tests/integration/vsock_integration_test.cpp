// The vsock transport with the real mediator, over the kernel's vsock loopback. Where the
// kernel offers no loopback (no vsock_loopback module, as in most containers) the tests skip
// and say so; the session code they share with tcp is covered by the tcp tests.
#include <gtest/gtest.h>
#include <linux/vm_sockets.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "client.hpp"
#include "mediator_process.hpp"
#include "vgpu/sdk/ops.hpp"

using namespace vgpu;
using namespace vgpu::testing;

namespace {

// Why vsock loopback cannot be used here, or empty when it can.
std::string loopback_unavailable() {
  const int listener = ::socket(AF_VSOCK, SOCK_STREAM, 0);
  if (listener < 0) return std::string("no AF_VSOCK sockets: ") + std::strerror(errno);
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = VMADDR_CID_ANY;
  addr.svm_port = VMADDR_PORT_ANY;
  socklen_t len = sizeof addr;
  std::string why;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    why = std::string("cannot listen on vsock: ") + std::strerror(errno);
  } else {
    const int client = ::socket(AF_VSOCK, SOCK_STREAM, 0);
    addr.svm_cid = VMADDR_CID_LOCAL;
    if (::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      why = std::string("vsock loopback (CID 1) unavailable: ") + std::strerror(errno) +
            " (load the vsock_loopback module)";
    ::close(client);
  }
  ::close(listener);
  return why;
}

// vgpu-admin accepts guest CIDs (3 and up) only; the loopback peer is CID 1.
void set_vsock_cid(const std::filesystem::path& db, std::uint32_t vm_id, std::uint32_t cid) {
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  const auto sql = "UPDATE vms SET vsock_cid = " + std::to_string(cid) +
                   " WHERE vm_id = " + std::to_string(vm_id);
  EXPECT_EQ(sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(handle);
}

std::uint32_t vsock_port(const MediatorProcess& m) {
  std::ifstream in(m.dir() / "ready.json");
  auto ready = nlohmann::json::parse(in);
  for (const std::string ep : ready["endpoints"])
    if (ep.rfind("vsock://", 0) == 0) return std::stoul(ep.substr(ep.rfind(':') + 1));
  return 0;
}

}  // namespace

TEST(VsockIntegration, ThePeerCidDecidesWhoIsCalling) {
  if (auto why = loopback_unavailable(); !why.empty()) GTEST_SKIP() << why;
  MediatorProcess m({{"a1", "A", "high"}, {"b1", "B", "low"}}, "", "strict_priority", 1,
                    "  - plugin: vsock\n    port: 0\n");
  const auto a1 = m.vm("a1").vm_id, b1 = m.vm("b1").vm_id;
  set_vsock_cid(m.db(), a1, VMADDR_CID_LOCAL);
  // The mediator reloads the DB within its reload interval.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const auto port = vsock_port(m);
  ASSERT_NE(port, 0u);
  // No token needed: the CID proves the VM. vm_id 0 means "whoever my CID says".
  auto client = guest::Client::connect_vsock(VMADDR_CID_LOCAL, port, 0, "");
  EXPECT_EQ(client.identity().vm_id, a1);
  EXPECT_EQ(client.identity().pool, "A");
  auto r = client.run("vector_add", {{"n", "100"}, {"seed", "1"}});
  ASSERT_EQ(r.status, sdk::Status::ok) << r.message;
  EXPECT_EQ(sdk::ops::to_floats(r.outputs[0]).size(), 100u);
  // Claiming b1's vm_id, even with b1's token, from a1's CID is refused.
  auto why =
      refusal([&] { guest::Client::connect_vsock(VMADDR_CID_LOCAL, port, b1, m.vm("b1").token); });
  EXPECT_NE(why.find("belongs to vm_id " + std::to_string(a1)), std::string::npos) << why;
}
