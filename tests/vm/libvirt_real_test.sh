#!/usr/bin/env bash
# The libvirt adapter and hook against a real libvirtd (Debian's libvirt-daemon-system): a TCG
# domain whose emulator is the VM tests' QEMU with the vgpu-stub. vgpu-admin applies the device
# through virsh; the hook hands QEMU the token at start and takes it back at stop; the guest
# reads its identity from the device and runs a job through the real mediator. Then the VM is
# removed from the DB: the domain still boots, and the mediator refuses its job. Then the same
# for KVM under CloudStack: the device through the VM's extraconfig (see step 4).
#
# Usage: libvirt_real_test.sh BUILD_DIR SOURCE_DIR. Needs root (libvirtd's system mode, which
# runs hooks from /etc/libvirt/hooks): it starts its own libvirtd and virtlogd (sockets in a
# scratch folder; domain definitions and logs in libvirt's usual folders, removed afterwards) and
# adds one hook file, /etc/libvirt/hooks/qemu.d/vgpu-test-<pid>, removed afterwards. Exits 77
# (skipped, with the reason) without root, libvirt, the VM artifacts, or with a libvirtd running.
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
skip() {
  echo "SKIPPED: $*"
  exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root (libvirtd in system mode runs the hooks)"
for tool in libvirtd virtlogd virsh; do
  command -v "$tool" >/dev/null || skip "no $tool (Debian: libvirt-daemon-system, scripts/setup.sh)"
done
for f in qemu-system-x86_64 vmlinuz initramfs.gz; do
  [ -e "$build/vm/$f" ] || skip "no $build/vm/$f: run scripts/prepare-vm-tests.sh $build"
done
# Every virsh call bounded: a wedged libvirtd must fail this test by name, not leave a virsh
# holding CTest's output open after the test's own time limit has killed the script.
virsh() { timeout -k 5 120 "$(type -P virsh)" "$@"; }
pgrep -x libvirtd >/dev/null && skip "a libvirtd already runs on this host; this test starts its own"
pgrep -x virtlogd >/dev/null && skip "a virtlogd already runs on this host; this test starts its own"
qemu_user=$(sed -n 's/^[[:space:]]*user[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' \
  /etc/libvirt/qemu.conf 2>/dev/null | tail -1)
qemu_user=${qemu_user:-libvirt-qemu}
id "$qemu_user" >/dev/null 2>&1 || skip "no user $qemu_user for QEMU (libvirt-daemon-system makes it)"

work=$(mktemp -d)
chmod 0711 "$work"  # QEMU runs as $qemu_user and must reach its files here
name=vgpu-libvirt-test-$$
hook=/etc/libvirt/hooks/qemu.d/vgpu-test-$$
export LIBVIRT_DEFAULT_URI="qemu:///system?socket=$work/sock/libvirt-sock"
fail() {
  echo "FAILED: $*"
  for log in "$work/console.log" "/var/log/libvirt/qemu/$name.log" "$work/libvirtd.log" \
    "$work/mediator.log"; do
    [ -s "$log" ] && { echo "--- $log"; tail -25 "$log"; }
  done
  exit 1
}
cleanup() {
  virsh destroy "$name" >/dev/null 2>&1 || true
  virsh undefine "$name" >/dev/null 2>&1 || true
  [ -n "${mediator_pid:-}" ] && kill "$mediator_pid" 2>/dev/null
  for p in libvirtd virtlogd; do
    [ -s "$work/$p.pid" ] && kill "$(cat "$work/$p.pid")" 2>/dev/null
  done
  rm -f "$hook" "/var/log/libvirt/qemu/$name.log"
  sleep 0.5
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# The guest's files where QEMU's user can read them, and the firmware.
mkdir -p "$work/art/fw" "$work/state" "$work/run" "$work/sock"
cp -L "$build/vm/qemu-system-x86_64" "$build/vm/vmlinuz" "$build/vm/initramfs.gz" "$work/art/"
for dir in /usr/share/seabios /usr/share/qemu; do
  for f in bios-256k.bin linuxboot_dma.bin kvmvapic.bin; do
    [ -e "$dir/$f" ] && cp -L "$dir/$f" "$work/art/fw/"
  done
done
chmod -R a+rX "$work/art"

# The mediator, with tokens required, and the VM in its DB under the domain's UUID.
uuid=$(python3 -c "import uuid; print(uuid.uuid4())")
admin=("$build/bin/vgpu-admin" --db "$work/vgpu.db")
"${admin[@]}" register-vm --vm-uuid "$uuid" --name "$name" --pool A --priority high >/dev/null
vm_id=$("${admin[@]}" show-vm "$uuid" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['vm_id'])")
cat >"$work/mediator.yaml" <<YAML
plugin_dirs: [$build/plugins]
database: {path: $work/vgpu.db}
transports: [{plugin: tcp, listen: 127.0.0.1, port: 0}]
policy: {plugin: strict_priority}
executors: [{plugin: cpu, workers: 1}]
security: {require_tokens: true}
YAML
source "$src/bench/start_mediator.sh"
start_mediator "$build/bin/vgpu-mediator" "$work/mediator.yaml" "$work/mediator.log"
port=$mediator_port

# libvirt, with the hook (this test's settings baked into a one-line wrapper: libvirt passes a
# hook almost no environment).
cat >"$work/hook.conf" <<CONF
STATE=$work/state
RUN=$work/run
DB=$work/vgpu.db
ADMIN=$build/bin/vgpu-admin
QEMU_USER=$qemu_user
CONF
mkdir -p "$(dirname "$hook")"
printf '#!/bin/sh\nVGPU_LIBVIRT_HOOK_CONF=%s exec %s "$@"\n' "$work/hook.conf" \
  "$src/hypervisor/libvirt/vgpu-hook" >"$hook"
chmod 0755 "$hook"
cat >"$work/libvirtd.conf" <<CONF
unix_sock_dir = "$work/sock"
auth_unix_rw = "none"
auth_unix_ro = "none"
CONF
virtlogd --pid-file "$work/virtlogd.pid" >"$work/virtlogd.log" 2>&1 &
# libvirtd finds our QEMU as the default emulator (PATH), so it probes that one binary and no
# other; /dev/kvm is hidden from it in a mount namespace of its own: this is a TCG domain, and
# where /dev/kvm cannot boot a guest (nested PVM) libvirt's probing of KVM doubled each define.
PATH=$work/art:$PATH unshare -m sh -c "mount --bind /dev/null /dev/kvm 2>/dev/null
  exec libvirtd --config $work/libvirtd.conf --pid-file $work/libvirtd.pid" \
  >"$work/libvirtd.log" 2>&1 &
for _ in $(seq 100); do virsh uri >/dev/null 2>&1 && break; sleep 0.1; done
virsh uri >/dev/null 2>&1 || fail "libvirtd did not come up"

# A domain as an operator would have it, before vgpu.
script='vgpu-client --json info; vgpu-client --host 10.0.2.2 --port '$port' --json run vector_add --n 1000 --seed 3; echo client=$?'
# A domain's XML: name, UUID, then whatever goes inside <domain> after the devices.
domain_xml() {
  cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <uuid>$2</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$work/art/vmlinuz</kernel>
    <initrd>$work/art/initramfs.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 vgpu.script=$(printf '%s' "$script" | base64 -w0)</cmdline>
  </os>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>$work/art/qemu-system-x86_64</emulator>
    <serial type='file'><source path='$work/console.log'/><target port='0'/></serial>
    <interface type='user'><model type='virtio'/><rom enabled='no'/></interface>
    <memballoon model='none'/>
  </devices>
${3:-}
</domain>
XML
}
domain_xml "$name" "$uuid" >"$work/domain.xml"
virsh define "$work/domain.xml" >/dev/null || fail "virsh define"
# Firmware for our QEMU: another passthrough argument, which apply must keep.
virsh dumpxml --inactive "$name" | python3 -c "
import sys
xml = sys.stdin.read().replace('<domain type=', '<domain xmlns:qemu=\"http://libvirt.org/schemas/domain/qemu/1.0\" type=', 1)
xml = xml.replace('</domain>', '  <qemu:commandline>\n    <qemu:arg value=\"-L\"/>\n    <qemu:arg value=\"$work/art/fw\"/>\n  </qemu:commandline>\n</domain>')
print(xml)" >"$work/with-fw.xml"
virsh define "$work/with-fw.xml" >/dev/null || fail "virsh define (firmware)"

# 1. vgpu-admin applies the device through the real virsh.
VGPU_LIBVIRT_STATE=$work/state VGPU_LIBVIRT_RUN=$work/run \
  "${admin[@]}" --hypervisor libvirt apply "$uuid" --rotate-token --yes >"$work/apply.txt" 2>&1 ||
  fail "apply: $(cat "$work/apply.txt")"
token=$(cat "$work/state/$uuid.token")
xml=$(virsh dumpxml "$name")
grep -q "vgpu-stub,pool_id=A,priority=high,vm_id=$vm_id,bus=pci.0,addr=0x1e,token-secret=vgpu-token" <<<"$xml" ||
  fail "the domain has no vgpu-stub device: $xml"
grep -q "$work/art/fw" <<<"$xml" || fail "apply dropped the domain's own passthrough arguments"
grep -q "$token" <<<"$xml" && fail "the token is in the domain XML"
virsh -r dumpxml "$name" 2>/dev/null | grep -q "$token" && fail "a read-only connection sees the token"

boot() {  # starts the domain and waits until the guest has run its script and stopped
  : >"$work/console.log"
  virsh start "$name" >/dev/null || fail "virsh start"
  # QEMU read the token while it started; the hook took the file away once it had (started).
  [ -e "$work/run/$uuid.token" ] && fail "the runtime token outlived QEMU's start"
  wait_stopped "$name"
}
# Waits until a domain has stopped: shut off (a defined domain) or gone (a transient one).
wait_stopped() {
  for _ in $(seq 1200); do
    state=$(virsh domstate "$1" 2>/dev/null) || return 0
    [ "$state" = "shut off" ] && return 0
    sleep 0.1
  done
  fail "the guest of $1 did not finish in 120 s"
}
# The guest (what: for the message) saw vm_id $1 at high priority with a token, and its job ran.
check_guest_ran_job() {
  out=$(cat "$work/console.log")
  grep -q "\"vm_id\": *$1" <<<"$out" || fail "$2 does not see vm_id $1: $out"
  grep -q '"priority": *"high"' <<<"$out" || fail "$2 does not see priority high"
  grep -q '"has_token": *true' <<<"$out" || fail "$2 has no token"
  grep -q '"op": *"vector_add".*"status": *"ok"' <<<"$out" || fail "$2: its job did not run"
}

# 2. Started by libvirt: the hook hands QEMU the token; the guest has its identity and its job
# runs; at stop the hook takes the token back.
boot
check_guest_ran_job "$vm_id" "the guest"
grep -q "client=0" <<<"$out" || fail "vgpu-client failed in the guest"
[ -e "$work/run/$uuid.token" ] && fail "the runtime token outlived the domain (release hook)"
echo "ok: libvirt started the domain with the device and its token; the guest's job ran"

# 3. Removed from the DB: the domain still boots, and the mediator refuses its job clearly.
"${admin[@]}" remove-vm "$uuid" --yes >/dev/null 2>&1 || "${admin[@]}" remove-vm "$uuid" >/dev/null
boot
out=$(cat "$work/console.log")
grep -q "VGPU-GUEST-READY" <<<"$out" || fail "the domain did not boot without a DB entry"
grep -q "client=4" <<<"$out" || fail "the job of a VM not in the DB was not refused: $out"
grep -q "unknown VM, or a missing or wrong token" <<<"$out" ||
  fail "the refusal does not say why: $out"
[ -e "$work/run/$uuid.token" ] && fail "the runtime token outlived the domain"
echo "ok: a domain the DB no longer knows boots, and its job is refused as unknown"
grep -q "custom-argv" "/var/log/libvirt/qemu/$name.log" &&
  echo "note: libvirt marks the domain tainted (custom-argv), as it does any <qemu:commandline>"

# 4. KVM under CloudStack. vgpu-admin cloudstack sync registers the VM and sets its extraconfig
# through the (stand-in) API; then this script does what CloudStack's KVM agent does at every
# start: it writes the domain XML afresh — a <domain> that declares no qemu namespace, the
# extraconfig entries appended verbatim inside it (LibvirtComputingResource) — and starts it as
# a transient domain (domainCreateXML). The hook writes the QEMU config the extraconfig names.
cs_uuid=$(python3 -c "import uuid; print(uuid.uuid4())")
cs_name=i-2-42-VM
mkdir -p "$work/api"
cat >"$work/api/keys.json" <<JSON
{"apikey": "vgpu-test-key", "secretkey": "vgpu-test-secret", "enable_additional_vm_configuration": true}
JSON
printf '[{"id": "off-gpu", "serviceofferingdetails": {"vgpu.pool": "A", "vgpu.priority": "high"}}]' \
  >"$work/api/offerings.json"
printf '[{"id": "%s", "name": "tenant-vm", "instancename": "%s", "state": "Stopped", "hypervisor": "KVM", "serviceofferingid": "off-gpu", "details": {}}]' \
  "$cs_uuid" "$cs_name" >"$work/api/vms.json"
"$src/tests/fakes/cloudstack-api" "$work/api" >"$work/api.log" 2>&1 &
api_pid=$!
trap 'kill $api_pid 2>/dev/null; cleanup' EXIT
for _ in $(seq 100); do [ -s "$work/api/port" ] && break; sleep 0.1; done
printf 'vgpu-test-secret' >"$work/api-secret" && chmod 600 "$work/api-secret"
cat >"$work/cloudstack.yaml" <<YAML
api_url: http://127.0.0.1:$(cat "$work/api/port")/client/api
api_key: vgpu-test-key
secret_key_file: $work/api-secret
kvm_config_dir: $work/run
YAML
cs_sync() { "${admin[@]}" cloudstack sync --config "$work/cloudstack.yaml" >"$work/sync.txt" 2>&1 ||
  fail "cloudstack sync: $(cat "$work/sync.txt")"; }
cs_sync
grep -q "KVM extraconfig set for $cs_uuid" "$work/sync.txt" || fail "no extraconfig set: $(cat "$work/sync.txt")"
cs_vm_id=$("${admin[@]}" show-vm "$cs_uuid" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['vm_id'])")
extraconfig=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[0]['details']['extraconfig-vgpu-stub'])" "$work/api/vms.json")
cs_boot() {  # as CloudStack's agent: the XML afresh, a transient domain; waits until it is gone
  : >"$work/console.log"
  domain_xml "$cs_name" "$cs_uuid" "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><qemu:arg value='-L'/><qemu:arg value='$work/art/fw'/></qemu:commandline>
$extraconfig" >"$work/cs-domain.xml"
  virsh create "$work/cs-domain.xml" >"$work/create.txt" 2>&1 || fail "virsh create: $(cat "$work/create.txt")"
  [ -e "$work/run/$cs_uuid.token" ] && fail "the CloudStack domain's token outlived QEMU's start"
  [ -e "$work/run/$cs_uuid.cfg" ] || fail "no QEMU config for the CloudStack domain while it runs"
  wait_stopped "$cs_name"
}
cs_boot
check_guest_ran_job "$cs_vm_id" "the CloudStack guest"
[ -e "$work/run/$cs_uuid.cfg" ] || [ -e "$work/run/$cs_uuid.token" ] &&
  fail "the QEMU config or token outlived the CloudStack domain"
echo "ok: a domain written as CloudStack writes it, with vgpu's extraconfig, got the device; its job ran"

# Taken out of vgpu in CloudStack (another offering): the sync unregisters it; it still boots.
sed -i 's/"off-gpu", "details"/"off-plain", "details"/' "$work/api/vms.json"
cs_sync
"${admin[@]}" show-vm "$cs_uuid" >/dev/null 2>&1 && fail "the sync kept a VM CloudStack took out"
cs_boot
out=$(cat "$work/console.log")
grep -q "VGPU-GUEST-READY" <<<"$out" || fail "the CloudStack domain did not boot without vgpu"
grep -q '"vm_id"' <<<"$out" && fail "a VM out of vgpu still got the device: $out"
echo "ok: taken out of vgpu, the CloudStack domain boots without the device"
echo "PASSED"
