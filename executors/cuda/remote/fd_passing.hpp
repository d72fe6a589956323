// Descriptors handed between the cuda executor and its session processes over a Unix socket
// (SCM_RIGHTS): a new session's channel to a pool's process, a session's mailbox and bell.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <span>

namespace vgpu::executors::cuda::remote {

// Sends `size` bytes of `data` with `fds` in one message; true when all of it went.
bool send_with_fds(int socket, const void* data, std::size_t size, std::span<const int> fds);

// Receives one message of up to `size` bytes into `data` and up to fds.size() descriptors
// (close-on-exec) into `fds`; slots no descriptor came for are -1, and descriptors beyond them
// are closed. Returns the bytes received (0: the other end closed; -1: an error).
ssize_t receive_with_fds(int socket, void* data, std::size_t size, std::span<int> fds);

}  // namespace vgpu::executors::cuda::remote
