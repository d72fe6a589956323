// What the integration tests that speak as guests share: a client connected as one of a
// MediatorProcess's registered VMs.
#pragma once

#include <string>

#include "client.hpp"
#include "mediator_process.hpp"

namespace vgpu::testing {

inline guest::Client connect_as(const MediatorProcess& m, const std::string& name) {
  const auto& vm = m.vm(name);
  return guest::Client::connect("127.0.0.1", m.port(), vm.vm_id, vm.token);
}

}  // namespace vgpu::testing
