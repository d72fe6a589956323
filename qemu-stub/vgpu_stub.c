/*
 * vgpu-stub: a conventional PCI device that tells a guest who it is on the shared GPU.
 *
 * BAR0 (4 KiB, little-endian 32-bit registers, read-only) carries the VM's pool,
 * priority, vm_id and secret token, laid out as vgpu/stub_registers.h says (the same
 * header the guest client reads it with). The device does nothing else: no DMA, no
 * interrupts.
 *
 *   -device vgpu-stub,pool_id=A,priority=high,vm_id=7,token=<32 hex chars>
 *
 * The token can instead come from a QEMU secret object, so that it is on no command line
 * (a device-model wrapper that logs its arguments, ps, /proc/<pid>/cmdline):
 *
 *   -object secret,id=vgputoken,file=/run/vgpu/libvirt/<uuid>.token
 *   -device vgpu-stub,pool_id=A,priority=high,vm_id=7,token-secret=vgputoken
 *
 * or from a plain file, for QEMU builds that have no secret object (XCP-ng's QEMU 4.2.1
 * is configured without its crypto objects, so `-object secret` would stop it from
 * starting):
 *
 *   -device vgpu-stub,pool_id=A,priority=high,vm_id=7,token-file=<root-only file>
 *
 * Migration is refused (a migration blocker with the reason): the VM's identity, token
 * and shared memory belong to this host's mediator and config DB, and its jobs run on
 * this host's GPU; none of that moves with the VM (docs/hypervisors.md, "Migration").
 *
 * Optionally BAR2 is the VM's shared memory with the mediator (docs/protocol.md, "Shared
 * memory"): a memory backend the mediator maps too, so job outputs reach the guest
 * without passing through a socket. The device only exposes it; it never touches its
 * contents.
 *
 *   -object memory-backend-file,id=vgpushm,mem-path=/dev/shm/vgpu/vm7,size=256M,share=on
 *   -device vgpu-stub,...,memdev=vgpushm
 *
 * Modelled on hw/misc/edu.c; written against QEMU 7.2 (qemu-stub/README.md lists what
 * differs in XCP-ng's QEMU 4.2.1).
 */
#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/qdev-properties.h"
#include "crypto/secret.h"
#include "migration/blocker.h"
#include "migration/vmstate.h"
#include "qapi/error.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qom/object.h"
#include "sysemu/hostmem.h"

/* The register map shared with the guest library: guest/include/vgpu/stub_registers.h in
 * the vgpu tree, copied beside this file as vgpu/stub_registers.h by
 * install-into-qemu.sh, so this include names the same path in both trees. */
#include "vgpu/stub_registers.h"

#define TYPE_VGPU_STUB "vgpu-stub"
#ifdef OBJECT_DECLARE_SIMPLE_TYPE
OBJECT_DECLARE_SIMPLE_TYPE(VgpuStubState, VGPU_STUB)
#else
/* QEMU before 5.2, such as XCP-ng's 4.2.1: the cast macro spelled out. */
typedef struct VgpuStubState VgpuStubState;
#define VGPU_STUB(obj) OBJECT_CHECK(VgpuStubState, (obj), TYPE_VGPU_STUB)
#endif

/* Only the first 0x50 bytes hold registers; everything above reads 0. */
#define VGPU_STUB_REGS_BYTES (VGPU_REG_POOL_NAME + VGPU_POOL_NAME_BYTES)

struct VgpuStubState {
    PCIDevice parent_obj;
    MemoryRegion mmio;

    /* Properties, exactly as on the command line. */
    char *pool;
    char *priority;
    uint32_t vm_id;
    char *token;
    char *token_secret; /* token-secret: the id of a secret object holding the token */
    char *token_file;   /* token-file: a file holding the token, nothing else */
    HostMemoryBackend *shmem; /* memdev: BAR2, optional */
    Error *migration_blocker;

    /* The BAR0 image, filled once at realize. */
    uint8_t regs[VGPU_STUB_REGS_BYTES];
};

static void put_reg(VgpuStubState *s, unsigned offset, uint32_t value)
{
    stl_le_p(&s->regs[offset], value);
}

static bool is_pool_char(char c)
{
    return g_ascii_isalnum(c) || c == '_' || c == '-';
}

/* The same rule as vgpu-admin: 1 to 16 of A-Z a-z 0-9 _ -. */
static bool check_pool(const char *pool, Error **errp)
{
    size_t len;

    if (!pool || !*pool) {
        error_setg(errp,
                   "vgpu-stub: property 'pool_id' is required (a pool name such as A)");
        return false;
    }
    len = strlen(pool);
    if (len > VGPU_POOL_NAME_BYTES) {
        error_setg(errp, "vgpu-stub: pool_id '%s' is %zu characters long; at most %d fit",
                   pool, len, VGPU_POOL_NAME_BYTES);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_pool_char(pool[i])) {
            error_setg(errp, "vgpu-stub: pool_id '%s' may hold only A-Z a-z 0-9 _ -",
                       pool);
            return false;
        }
    }
    return true;
}

static bool parse_priority(const char *text, uint32_t *value, Error **errp)
{
    static const char *const names[] = {"low", "medium", "high"};

    if (!text) {
        error_setg(errp,
                   "vgpu-stub: property 'priority' is required (low, medium or high)");
        return false;
    }
    for (uint32_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (strcmp(text, names[i]) == 0) {
            *value = i;
            return true;
        }
    }
    error_setg(errp, "vgpu-stub: priority must be low, medium or high, not '%s'", text);
    return false;
}

/* The token is optional (no token: the guest cannot use TCP); when given it must fit. */
static bool check_token(const char *token, Error **errp)
{
    size_t len;

    if (!token) {
        return true;
    }
    len = strlen(token);
    if (len == 0 || len > VGPU_TOKEN_BYTES) {
        error_setg(errp, "vgpu-stub: token must be 1 to %d characters, not %zu",
                   VGPU_TOKEN_BYTES, len);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!g_ascii_isgraph(token[i])) {
            error_setg(errp, "vgpu-stub: token may hold only printable ASCII characters");
            return false;
        }
    }
    return true;
}

/*
 * token-file: the file's bytes are the token (no newline). Read once, at realize, while
 * QEMU is still root and outside any chroot (os_setup_post() applies -chroot and -runas
 * only once the machine is built). Only a regular file, and only as much as a token can
 * be: the path comes from the host, but a FIFO or a huge file must not hang or bloat
 * QEMU.
 */
static char *read_token_file(const char *path, Error **errp)
{
    char buf[VGPU_TOKEN_BYTES + 1];
    size_t len = 0;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

    if (fd < 0) {
        error_setg_errno(errp, errno, "vgpu-stub: token-file '%s'", path);
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        error_setg(errp, "vgpu-stub: token-file '%s' is not a regular file", path);
        close(fd);
        return NULL;
    }
    while (len < sizeof(buf)) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            error_setg_errno(errp, errno, "vgpu-stub: token-file '%s'", path);
            close(fd);
            return NULL;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    if (len == 0 || len > VGPU_TOKEN_BYTES) {
        error_setg(errp,
                   "vgpu-stub: token-file '%s' must hold the token alone, 1 to %d bytes "
                   "with no newline%s",
                   path, VGPU_TOKEN_BYTES,
                   len == 0 ? " (it is empty)" : " (it holds more)");
        return NULL;
    }
    return g_strndup(buf, len);
}

static uint64_t vgpu_stub_read(void *opaque, hwaddr addr, unsigned size)
{
    VgpuStubState *s = opaque;
    uint64_t value = 0;

    /* Byte-wise so any access width the guest uses gives the same little-endian view. */
    for (unsigned i = 0; i < size; i++) {
        if (addr + i < sizeof(s->regs)) {
            value |= (uint64_t)s->regs[addr + i] << (8 * i);
        }
    }
    return value;
}

static void vgpu_stub_write(void *opaque, hwaddr addr, uint64_t value, unsigned size)
{
    qemu_log_mask(LOG_GUEST_ERROR,
                  "vgpu-stub: guest wrote 0x%" PRIx64 " at 0x%" HWADDR_PRIx
                  "; the registers are read-only\n",
                  value, addr);
}

static const MemoryRegionOps vgpu_stub_mmio_ops = {
    .read = vgpu_stub_read,
    .write = vgpu_stub_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {.min_access_size = 1, .max_access_size = 4},
    .impl = {.min_access_size = 1, .max_access_size = 4},
};

static void vgpu_stub_realize(PCIDevice *pdev, Error **errp)
{
    VgpuStubState *s = VGPU_STUB(pdev);
    uint32_t priority = 0;

    if (!!s->token + !!s->token_secret + !!s->token_file > 1) {
        error_setg(errp,
                   "vgpu-stub: give the token one way only: 'token', 'token-secret' or "
                   "'token-file'");
        return;
    }
    if (s->token_file) {
        s->token = read_token_file(s->token_file, errp);
        if (!s->token) {
            return;
        }
    }
    if (s->token_secret) {
        /* Read once, at realize: before QEMU chroots or drops privileges (-chroot,
         * -runas). */
        Error *err = NULL;
        char *secret = qcrypto_secret_lookup_as_utf8(s->token_secret, &err);
        if (!secret) {
            error_propagate_prepend(errp, err,
                                    "vgpu-stub: token-secret '%s': ", s->token_secret);
            return;
        }
        s->token = secret;
    }
    if (!check_pool(s->pool, errp) || !parse_priority(s->priority, &priority, errp) ||
        !check_token(s->token, errp)) {
        return;
    }
    if (s->vm_id == 0) {
        error_setg(errp, "vgpu-stub: property 'vm_id' is required and must be 1 or more");
        return;
    }

    memset(s->regs, 0, sizeof(s->regs));
    put_reg(s, VGPU_REG_MAGIC, VGPU_STUB_MAGIC);
    put_reg(s, VGPU_REG_VERSION, VGPU_STUB_LAYOUT_VERSION);
    put_reg(s, VGPU_REG_POOL_ID, (uint8_t)s->pool[0]);
    put_reg(s, VGPU_REG_PRIORITY, priority);
    put_reg(s, VGPU_REG_VM_ID, s->vm_id);
    put_reg(s, VGPU_REG_FLAGS, s->token ? VGPU_FLAG_HAS_TOKEN : 0);
    if (s->token) {
        memcpy(&s->regs[VGPU_REG_TOKEN], s->token, strlen(s->token));
    }
    memcpy(&s->regs[VGPU_REG_POOL_NAME], s->pool, strlen(s->pool));

    error_setg(
        &s->migration_blocker,
        "vgpu-stub: VM with vm_id %u cannot migrate: its identity, token and shared "
        "memory belong to this host's vgpu mediator and its jobs run on this host's GPU; "
        "shut it down and start it on the other host",
        s->vm_id);
    if (migrate_add_blocker(s->migration_blocker, errp) < 0) {
        error_free(s->migration_blocker);
        s->migration_blocker = NULL;
        return;
    }

    memory_region_init_io(&s->mmio, OBJECT(s), &vgpu_stub_mmio_ops, s, "vgpu-stub-mmio",
                          VGPU_STUB_BAR0_SIZE);
    pci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->mmio);

    if (s->shmem) {
        MemoryRegion *mr = host_memory_backend_get_memory(s->shmem);
        uint64_t size = memory_region_size(mr);

        if (host_memory_backend_is_mapped(s->shmem)) {
            error_setg(errp, "vgpu-stub: memdev '%s' is already in use by another device",
                       object_get_canonical_path_component(OBJECT(s->shmem)));
            return;
        }
        if (!is_power_of_2(size)) {
            error_setg(errp,
                       "vgpu-stub: memdev size %" PRIu64 " is not a power of two "
                       "(a PCI BAR must be)",
                       size);
            return;
        }
        /* Without share=on the mediator would never see what the guest writes. */
        if (!object_property_get_bool(OBJECT(s->shmem), "share", &error_abort)) {
            error_setg(errp, "vgpu-stub: memdev '%s' needs share=on",
                       object_get_canonical_path_component(OBJECT(s->shmem)));
            return;
        }
        host_memory_backend_set_mapped(s->shmem, true);
        pci_register_bar(pdev, 2,
                         PCI_BASE_ADDRESS_SPACE_MEMORY | PCI_BASE_ADDRESS_MEM_PREFETCH |
                             PCI_BASE_ADDRESS_MEM_TYPE_64,
                         mr);
    }
}

static void vgpu_stub_exit(PCIDevice *pdev)
{
    VgpuStubState *s = VGPU_STUB(pdev);

    if (s->migration_blocker) {
        migrate_del_blocker(s->migration_blocker);
        error_free(s->migration_blocker);
        s->migration_blocker = NULL;
    }
    if (s->shmem) {
        host_memory_backend_set_mapped(s->shmem, false);
    }
}

static Property vgpu_stub_properties[] = {
    DEFINE_PROP_STRING("pool_id", VgpuStubState, pool),
    DEFINE_PROP_STRING("priority", VgpuStubState, priority),
    DEFINE_PROP_UINT32("vm_id", VgpuStubState, vm_id, 0),
    DEFINE_PROP_STRING("token", VgpuStubState, token),
    DEFINE_PROP_STRING("token-secret", VgpuStubState, token_secret),
    DEFINE_PROP_STRING("token-file", VgpuStubState, token_file),
    DEFINE_PROP_LINK("memdev", VgpuStubState, shmem, TYPE_MEMORY_BACKEND,
                     HostMemoryBackend *),
    DEFINE_PROP_END_OF_LIST(),
};

static const VMStateDescription vmstate_vgpu_stub = {
    .name = TYPE_VGPU_STUB,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]){VMSTATE_PCI_DEVICE(parent_obj, VgpuStubState),
                               VMSTATE_END_OF_LIST()},
};

static void vgpu_stub_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = vgpu_stub_realize;
    k->exit = vgpu_stub_exit;
    k->vendor_id = VGPU_STUB_VENDOR_ID;
    k->device_id = VGPU_STUB_DEVICE_ID;
    k->revision = 1;
    /* class_id is base class << 8 | subclass; PCI_CLASS_OTHERS (0xff) is a base class, so
     * used bare (as edu.c does) it would read as class 0x00 "unclassified", subclass
     * 0xff. */
    k->class_id = PCI_CLASS_OTHERS << 8;
    dc->desc = "vgpu: tells the guest its GPU pool, priority and vm_id";
    dc->vmsd = &vmstate_vgpu_stub;
#ifdef OBJECT_DECLARE_SIMPLE_TYPE
    device_class_set_props(dc, vgpu_stub_properties);
#else
    dc->props = vgpu_stub_properties; /* before 5.0 */
#endif
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo vgpu_stub_info = {
    .name = TYPE_VGPU_STUB,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(VgpuStubState),
    .class_init = vgpu_stub_class_init,
    .interfaces =
        (InterfaceInfo[]){
            {INTERFACE_CONVENTIONAL_PCI_DEVICE},
            {},
        },
};

static void vgpu_stub_register_types(void)
{
    type_register_static(&vgpu_stub_info);
}

type_init(vgpu_stub_register_types)
