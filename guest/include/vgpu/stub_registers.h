/* The vgpu-stub device's BAR0 register map, shared by the guest client and the QEMU
 * device model. Plain C so QEMU can include it. All registers are little-endian 32-bit. */
#ifndef VGPU_STUB_REGISTERS_H
#define VGPU_STUB_REGISTERS_H

/* 1af4:10f0..10ff is the range QEMU's docs/specs/pci-ids set aside for experimental devices
 * without registration, so these IDs collide with no real hardware. An official ID is needed
 * before the device ships in a distribution. */
#define VGPU_STUB_VENDOR_ID 0x1af4
#define VGPU_STUB_DEVICE_ID 0x10f6

#define VGPU_STUB_BAR0_SIZE 4096
#define VGPU_STUB_MAGIC 0x56475055u /* "VGPU" read as a little-endian word */
#define VGPU_STUB_LAYOUT_VERSION 1u

#define VGPU_REG_MAGIC 0x000
#define VGPU_REG_VERSION 0x004
#define VGPU_REG_POOL_ID 0x008  /* ASCII of the pool's first letter, 'A' = 0x41 */
#define VGPU_REG_PRIORITY 0x00C /* 0 low, 1 medium, 2 high */
#define VGPU_REG_VM_ID 0x010
#define VGPU_REG_FLAGS 0x014
#define VGPU_REG_TOKEN 0x020 /* 32 bytes */
#define VGPU_TOKEN_BYTES 32
#define VGPU_REG_POOL_NAME 0x040 /* 16 bytes, NUL padded */
#define VGPU_POOL_NAME_BYTES 16

#define VGPU_FLAG_HAS_TOKEN 0x1u

#endif
