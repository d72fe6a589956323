/* libvgpu-guest: the C API for programs inside a VM. Link with -lvgpu-guest.
 * Every call returns 0 (or a pointer) on success; on failure it returns non-zero (or NULL) and
 * writes one line naming the problem into `err` (when err is not NULL). */
#ifndef VGPU_GUEST_H
#define VGPU_GUEST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vgpu_identity {
  uint32_t vm_id;
  uint32_t priority; /* 0 low, 1 medium, 2 high */
  char pool[17];     /* NUL terminated */
  char token[33];    /* NUL terminated; empty when the device holds none */
  char pci_address[64];
} vgpu_identity;

typedef struct vgpu_client vgpu_client;

/* Reads the identity from the vgpu-stub device. `sysfs_root` NULL means "/sys". */
int vgpu_read_identity(const char* sysfs_root, vgpu_identity* out, char* err, size_t err_len);

/* Connects to the mediator and authenticates as `vm_id` with `token` (may be empty). */
vgpu_client* vgpu_connect(const char* host, uint16_t port, uint32_t vm_id, const char* token,
                          char* err, size_t err_len);

/* Uses the file transport's spool instead of a connection: `dir` is this VM's directory on the
 * shared directory (e.g. "/mnt/vgpu/vm3"). The directory proves the identity; no token. */
vgpu_client* vgpu_open_dir(const char* dir, char* err, size_t err_len);

/* Runs `op` with "key=value" parameters and waits for its result. The first output buffer, if
 * any, is copied into `out` (up to `out_capacity` bytes); its full size goes to `*out_size`.
 * Returns the job's status code (0 ok; see docs/protocol.md) or -1 for a connection failure. */
int vgpu_run(vgpu_client* client, const char* op, const char* const* params, size_t n_params,
             void* out, size_t out_capacity, size_t* out_size, char* err, size_t err_len);

void vgpu_close(vgpu_client* client);

#ifdef __cplusplus
}
#endif

#endif
