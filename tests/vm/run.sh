#!/bin/bash
# tests/vm/run.sh: `make check-vm`. Builds (or reuses) the Debian 12 guest image with this
# build installed, boots it under qemu, waits for ssh, runs tests/vm/guest/*.sh in the guest
# as root over ssh, powers it off and cleans up (always, also on failure or interrupt).
# Prints each guest test's "ok - " / "not ok - " lines and ends with "N passed, N failed".
#
# Environment: B (host build dir, default build), VM_ACCEL (tcg; kvm where it works),
# VM_TESTS (glob over guest test names, default *), VM_BOOT_TIMEOUT (s, default 600),
# VM_TEST_TIMEOUT (s per guest test, default 900), VM_KEEP=1 (keep the work dir).
# The limits are for a loaded host: under TCG on 2 busy cores (load 40) the boot alone took
# over 180 s and an ssh banner over 10 s; they only bound a guest that is really stuck.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP"
B=${B:-build}
export B
VM_ACCEL=${VM_ACCEL:-tcg}
VM_BOOT_TIMEOUT=${VM_BOOT_TIMEOUT:-600}
VM_TEST_TIMEOUT=${VM_TEST_TIMEOUT:-900}
VM_TESTS=${VM_TESTS:-*}

if [ "$(id -u)" -ne 0 ]; then
	echo "check-vm: needs root (image build installs packages and keeps file ownership)" >&2
	exit 1
fi

t_start=$SECONDS
work=$(mktemp -d /tmp/tsw-vm.XXXXXX)
logdir=$(mktemp -d /tmp/tsw-vm-logs.XXXXXX)
qemu_pid=

cleanup() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$qemu_pid" 2>/dev/null || break
			sleep 0.5
		done
		kill -9 "$qemu_pid" 2>/dev/null
		wait "$qemu_pid" 2>/dev/null
	fi
	[ -f "$work/serial.log" ] && cp "$work/serial.log" "$logdir/serial.log"
	if [ "${VM_KEEP:-0}" = 1 ]; then
		echo "check-vm: work dir kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

say() { echo "check-vm: $*" >&2; }

# ---- image ----
t0=$SECONDS
if ! tests/vm/build-image.sh "$work" >"$logdir/build-image.log" 2>&1; then
	say "image build failed:"
	tail -n 30 "$logdir/build-image.log" >&2
	echo "not ok - vm: image build"
	echo "0 passed, 1 failed"
	exit 1
fi
t_image=$((SECONDS - t0))
say "image: ${t_image} s ($(grep -o 'base image cached\|base built in [0-9]* s' \
	"$logdir/build-image.log" | head -n1))"

# ---- boot ----
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The default CPU model: with -cpu max, udev loads the AVX/AES crypto modules, whose self
# tests are slow when every instruction is emulated.
case $VM_ACCEL in
kvm) cpu=host ;;
*) cpu=qemu64 ;;
esac
quiet=quiet
[ "${VM_DEBUG:-0}" = 1 ] && quiet=''

t0=$SECONDS
qemu-system-x86_64 -accel "$VM_ACCEL" -cpu "$cpu" -m 2048 -smp 2 \
	-kernel "$work/vmlinuz" -initrd "$work/initrd.img" \
	-append "root=/dev/vda rw console=ttyS0 systemd.unified_cgroup_hierarchy=1 net.ifnames=0 \
panic=-1 no_timer_check mitigations=off 8250.nr_uarts=1 $quiet" -nodefaults \
	-drive "file=$work/disk.img,if=virtio,format=raw,snapshot=on" \
	-netdev "user,id=n,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=n \
	-device virtio-rng-pci -no-reboot \
	-display none -monitor none -serial "file:$work/serial.log" \
	</dev/null >"$logdir/qemu.log" 2>&1 &
qemu_pid=$!

SSH=(ssh -i "$work/id_ed25519" -p "$port" -o StrictHostKeyChecking=no
	-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes
	-o ConnectTimeout=60 -o ServerAliveInterval=15 -o ServerAliveCountMax=20 root@127.0.0.1)

up=0
while [ $((SECONDS - t0)) -lt "$VM_BOOT_TIMEOUT" ]; do
	if ! kill -0 "$qemu_pid" 2>/dev/null; then
		say "qemu exited during boot:"
		cat "$logdir/qemu.log" >&2
		break
	fi
	if timeout 90 "${SSH[@]}" true 2>/dev/null; then
		up=1
		break
	fi
	sleep 2
done
t_boot=$((SECONDS - t0))
if [ "$up" -ne 1 ]; then
	say "no ssh after ${t_boot} s; serial console tail:"
	tail -n 40 "$work/serial.log" >&2
	echo "not ok - vm: boot to ssh within ${VM_BOOT_TIMEOUT} s"
	echo "0 passed, 1 failed"
	exit 1
fi
say "boot to ssh: ${t_boot} s (accel $VM_ACCEL, port $port)"

# ---- guest tests ----
tar -C tests/vm -cf - guest | "${SSH[@]}" 'rm -rf /root/vm && mkdir -p /root/vm && tar -C /root/vm -xf -'
pass=0 fail=0 skip=0
for t in tests/vm/guest/$VM_TESTS.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	t0=$SECONDS
	timeout "$VM_TEST_TIMEOUT" "${SSH[@]}" "cd /root/vm/guest && bash ./$name.sh" \
		</dev/null >"$logdir/$name.log" 2>&1
	rc=$?
	p=$(grep -cE '^ok ' "$logdir/$name.log")
	f=$(grep -cE '^not ok ' "$logdir/$name.log")
	if [ "$rc" -eq 77 ]; then
		echo "SKIP $name: $(tail -n1 "$logdir/$name.log")"
		skip=$((skip + 1))
		continue
	fi
	grep -E '^(not )?ok ' "$logdir/$name.log"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name: exited $rc$([ "$rc" -eq 124 ] && echo " (timeout ${VM_TEST_TIMEOUT} s)")"
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f))
	if [ "$f" -gt 0 ]; then
		echo "FAIL $name ($p ok, $f not ok, rc=$rc, $((SECONDS - t0)) s); log tail:"
		grep -vE '^(not )?ok ' "$logdir/$name.log" | tail -n 25 | sed 's/^/    /'
	else
		echo "PASS $name ($p, $((SECONDS - t0)) s)"
	fi
done
"${SSH[@]}" 'journalctl -b --no-pager -o short-monotonic' >"$logdir/guest-journal.log" 2>&1

# ---- power off ----
t0=$SECONDS
"${SSH[@]}" 'systemctl poweroff --no-block' >/dev/null 2>&1
while kill -0 "$qemu_pid" 2>/dev/null && [ $((SECONDS - t0)) -lt 30 ]; do sleep 0.5; done
if kill -0 "$qemu_pid" 2>/dev/null; then
	say "guest did not power off within 30 s; killing qemu"
else
	wait "$qemu_pid" 2>/dev/null
	qemu_pid=
	say "powered off in $((SECONDS - t0)) s"
fi

say "image ${t_image} s, boot ${t_boot} s, whole run $((SECONDS - t_start)) s; logs: $logdir"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
