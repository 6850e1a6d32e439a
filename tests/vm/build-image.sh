#!/bin/bash
# tests/vm/build-image.sh: the Debian 12 guest that `make check-vm` boots.
#
#   tests/vm/build-image.sh OUTDIR     (as root; B=build dir of the host build, default build)
#
# Writes OUTDIR/disk.img (raw ext4, no partition table: root=/dev/vda), OUTDIR/vmlinuz,
# OUTDIR/initrd.img and OUTDIR/id_ed25519{,.pub} (the key that logs in as root and as the
# test users). The Debian part (mmdebstrap from this machine's apt mirror) is built once
# and cached as a tarball keyed by a hash of its package list and hooks; the project part
# (make install DESTDIR=, test policy, PAM line, keys) is laid on a fresh copy every run.
#
# Also called by mmdebstrap as its own hook: build-image.sh hook-essential|hook-base ROOT.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SELF=$TOP/tests/vm/build-image.sh
B=${B:-build}
case $B in /*) ;; *) B=$TOP/$B ;; esac
VM_CACHE=${VM_CACHE:-/var/cache/tmpfs-sweep-vm}
SUITE=bookworm
TEST_USERS="sweepa:1001 sweepb:1002"

PACKAGES="systemd systemd-sysv dbus libpam-systemd openssh-server openssh-client
	linux-image-amd64 initramfs-tools kmod udev iproute2 python3 procps
	libmount1 libsystemd0 libpam0g libpam-modules"

# Modules the initrd needs to mount root from a virtio disk; MODULES=list keeps it ~6 MB
# (MODULES=most makes it ~30 MB and costs about a minute to build and to boot under TCG).
INITRD_MODULES="virtio_pci virtio_blk ext4 crc32c_generic"

log() { echo "build-image: $*" >&2; }

# The host tools this needs; installed when missing (apt-get update first).
ensure_deps() {
	local p missing=()
	for p in qemu-system-x86 qemu-utils mmdebstrap e2fsprogs openssh-client make; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# ---- hooks (run by mmdebstrap with the chroot as $1; hashed into the cache key) ----

hook_essential() { # before the kernel is installed: initramfs-tools settings
	local root=$1 m
	mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/usr/share/initramfs-tools/modules.d"
	printf 'MODULES=list\nCOMPRESS=gzip\n' >"$root/etc/initramfs-tools/conf.d/tmpfs-sweep-vm"
	for m in $INITRD_MODULES; do echo "$m"; done \
		>"$root/usr/share/initramfs-tools/modules.d/tmpfs-sweep-vm"
}

hook_base() { # after all packages: everything that does not depend on the project
	local root=$1 u name uid
	echo tsw-vm >"$root/etc/hostname"
	printf '127.0.0.1 localhost\n127.0.1.1 tsw-vm\n::1 localhost\n' >"$root/etc/hosts"
	# No "/" line: the kernel mounts it rw (root=/dev/vda rw), and without the line systemd
	# neither waits for dev-vda.device nor runs fsck/remount on it (seconds under TCG).
	echo 'tmpfs /tmp tmpfs mode=1777,nosuid,nodev,size=512m 0 0' >"$root/etc/fstab"
	# qemu user networking; static, so boot does not wait for DHCP.
	mkdir -p "$root/etc/systemd/network"
	cat >"$root/etc/systemd/network/10-vm.network" <<-'EOF'
	[Match]
	Name=en* eth*
	[Network]
	Address=10.0.2.15/24
	Gateway=10.0.2.2
	DNS=10.0.2.3
	LinkLocalAddressing=no
	IPv6AcceptRA=no
	EOF
	chroot "$root" systemctl enable systemd-networkd.service >/dev/null 2>&1
	# Nothing periodic or slow that would compete with the tests on an emulated CPU, and
	# nothing a headless, ssh-only guest does not need at boot.
	chroot "$root" systemctl mask systemd-networkd-wait-online.service apt-daily.timer \
		apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
		dpkg-db-backup.timer systemd-tmpfiles-clean.timer getty@tty1.service \
		serial-getty@ttyS0.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
		sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount \
		sys-fs-fuse-connections.mount dev-hugepages.mount systemd-pstore.service \
		systemd-hwdb-update.service modprobe@drm.service modprobe@fuse.service \
		modprobe@efi_pstore.service modprobe@configfs.service systemd-journal-flush.service \
		>/dev/null 2>&1 || true
	# ssh.service waits for network.target, i.e. for networkd's start (~8 s under TCG); sshd
	# listens on 0.0.0.0 and needs no address to start, so run it from a copy without that.
	sed -e '/^After=/d' -e '/^ExecStartPre=/d' \
		-e 's/^Description=.*/Description=OpenBSD Secure Shell server (VM)/' \
		"$root/lib/systemd/system/ssh.service" >"$root/etc/systemd/system/ssh-vm.service"
	sed -i '/^Alias=/d' "$root/etc/systemd/system/ssh-vm.service"
	chroot "$root" systemctl disable ssh.service >/dev/null 2>&1
	chroot "$root" systemctl enable ssh-vm.service >/dev/null 2>&1
	mkdir -p "$root/etc/ssh/sshd_config.d"
	cat >"$root/etc/ssh/sshd_config.d/tsw-vm.conf" <<-'EOF'
	UseDNS no
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	PermitRootLogin prohibit-password
	MaxStartups 64:30:128
	MaxSessions 64
	EOF
	# Per-test logind settings go in 60-*.conf; this is the image's default.
	mkdir -p "$root/etc/systemd/logind.conf.d"
	printf '[Login]\nRemoveIPC=no\n' >"$root/etc/systemd/logind.conf.d/50-tsw-vm.conf"
	# Journal in RAM only, small: the disk is a throwaway snapshot anyway.
	mkdir -p "$root/etc/systemd/journald.conf.d"
	printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=64M\n' \
		>"$root/etc/systemd/journald.conf.d/tsw-vm.conf"
	for u in $TEST_USERS; do
		name=${u%%:*} uid=${u#*:}
		chroot "$root" useradd -m -u "$uid" -U -s /bin/bash "$name"
	done
	chroot "$root" passwd -l root >/dev/null
	# Drop kernel modules no virtio guest loads (halves the disk, speeds mkfs).
	local kdir
	for kdir in "$root"/lib/modules/*; do
		rm -rf "$kdir"/kernel/drivers/{gpu,media,infiniband,staging,iio,bluetooth,isdn} \
			"$kdir"/kernel/drivers/net/{wireless,ethernet,can,usb} "$kdir"/kernel/sound
		chroot "$root" depmod "${kdir##*/}"
	done
	rm -f "$root"/etc/ssh/ssh_host_*  # regenerated per image (see lay_project)
}

# ---- base tarball ----

# The Debian mirror(s) this machine uses, as sources.list lines for mmdebstrap.
mirror_lines() {
	local f uris=() u
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		case $f in
		*.sources) uris+=($(awk 'tolower($0) ~ /^uris:/ {sub(/^[^:]*: */, ""); print}' "$f")) ;;
		*) uris+=($(awk '$1=="deb" {for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}' "$f")) ;;
		esac
	done
	local main="" sec=""
	for u in "${uris[@]}"; do
		u=${u%/}
		case $u in
		*/debian-security) [ -n "$sec" ] || sec=$u ;;
		*/debian) [ -n "$main" ] || main=$u ;;
		esac
	done
	[ -n "$main" ] || main=http://deb.debian.org/debian
	echo "deb $main $SUITE main"
	echo "deb $main $SUITE-updates main"
	[ -z "$sec" ] || echo "deb $sec $SUITE-security main"
}

base_key() {
	{
		echo "$PACKAGES" | tr -s ' \t\n' ' '
		echo "$INITRD_MODULES $TEST_USERS"
		mirror_lines
		declare -f hook_essential hook_base
	} | sha256sum | cut -c1-16
}

build_base() { # -> $VM_CACHE/base-KEY/{rootfs.tar,vmlinuz,initrd.img}
	local key dir tmp t0 mirrors=()
	key=$(base_key)
	dir=$VM_CACHE/base-$key
	if [ -s "$dir/rootfs.tar" ] && [ -s "$dir/vmlinuz" ] && [ -s "$dir/initrd.img" ]; then
		log "base image cached ($dir)"
		echo "$dir"
		return
	fi
	mkdir -p "$VM_CACHE"
	tmp=$(mktemp -d "$VM_CACHE/tmp-base.XXXXXX")
	trap 'rm -rf "$tmp"' RETURN
	mapfile -t mirrors < <(mirror_lines)
	log "building base image (cold, ~2 min) from: ${mirrors[*]}"
	t0=$SECONDS
	mmdebstrap --quiet --variant=minbase --mode=root --format=tar \
		--aptopt='APT::Install-Recommends "false"' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--include="$(echo $PACKAGES | tr ' ' ,)" \
		--essential-hook="\"$SELF\" hook-essential \"\$1\"" \
		--customize-hook="\"$SELF\" hook-base \"\$1\"" \
		--customize-hook="cp \"\$1\"/boot/vmlinuz-* \"$tmp/vmlinuz\"" \
		--customize-hook="cp \"\$1\"/boot/initrd.img-* \"$tmp/initrd.img\"" \
		"$SUITE" "$tmp/rootfs.tar" "${mirrors[@]}" >&2
	log "base built in $((SECONDS - t0)) s (initrd $(du -h "$tmp/initrd.img" | cut -f1))"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	trap - RETURN
	# Older bases are dead weight.
	find "$VM_CACHE" -maxdepth 1 -name 'base-*' ! -name "base-$key" -exec rm -rf {} + || true
	echo "$dir"
}

# ---- the project, laid on a fresh copy of the base every run ----

install_project() {
	local root=$1 f
	log "make install DESTDIR=$root (B=$B)"
	if ! make -C "$TOP" --no-print-directory install DESTDIR="$root" B="$B" >"$root.install.log" 2>&1
	then
		# Parts of the product not landed yet: copy what exists.
		log "make install failed (tail below); copying what exists"
		tail -n 5 "$root.install.log" >&2
		install -D -m 0755 "$B/tmpfs-sweep" "$root/usr/libexec/tmpfs-sweep/tmpfs-sweep"
		mkdir -p "$root/usr/sbin"
		ln -sf /usr/libexec/tmpfs-sweep/tmpfs-sweep "$root/usr/sbin/tmpfs-sweep"
		install -D -m 0644 "$B/pam_tmpfs_sweep.so" \
			"$root/lib/x86_64-linux-gnu/security/pam_tmpfs_sweep.so"
		for f in "$TOP"/man/*.[58]; do
			[ -e "$f" ] || continue
			install -D -m 0644 "$f" "$root/usr/share/man/man${f##*.}/${f##*/}"
		done
	fi
	# Units and tmpfiles.d, if the install target does not place them (yet).
	for f in "$TOP"/conf/*.service "$TOP"/conf/*.timer; do
		[ -e "$f" ] || continue
		[ -e "$root/lib/systemd/system/${f##*/}" ] ||
			install -D -m 0644 "$f" "$root/lib/systemd/system/${f##*/}"
	done
	if ! ls "$root"/usr/lib/tmpfiles.d/*tmpfs-sweep* >/dev/null 2>&1; then
		for f in "$TOP"/conf/*tmpfiles*; do
			[ -e "$f" ] && install -D -m 0644 "$f" "$root/usr/lib/tmpfiles.d/tmpfs-sweep.conf"
		done
	fi
	for f in "$root"/lib/systemd/system/tmpfs-sweep*.timer; do
		[ -e "$f" ] && chroot "$root" systemctl enable "${f##*/}" >/dev/null 2>&1
	done
	return 0
}

lay_project() { # ROOT OUTDIR
	local root=$1 out=$2 u name uid home
	install_project "$root"
	# The test policies; the default one is in force at boot.
	install -d -m 0755 "$root/usr/share/tmpfs-sweep-vm"
	cp -r "$TOP/tests/vm/policy" "$root/usr/share/tmpfs-sweep-vm/"
	# For the package test (guest/60-deb-package.sh): the .deb of this tree (make deb-build;
	# none: that test skips), and what `make install` laid, which it moves aside while the
	# package is installed.
	install -d -m 0755 "$root/usr/share/tmpfs-sweep-vm/deb"
	for f in "$TOP"/build/deb/tmpfs-sweep_*.deb; do
		[ -e "$f" ] && install -m 0644 "$f" "$root/usr/share/tmpfs-sweep-vm/deb/"
	done
	if make -C "$TOP" --no-print-directory install DESTDIR="$out/list" B="$B" >/dev/null 2>&1; then
		(cd "$out/list" && find . ! -type d | sed 's|^\.||' | sort) \
			>"$root/usr/share/tmpfs-sweep-vm/installed.list"
	fi
	rm -rf "$out/list"
	install -m 0644 "$TOP/tests/vm/policy/remove.conf" "$root/etc/security/tmpfs-sweep.conf"
	# A guest emulated on a loaded host can take minutes for a login (sshd's default grace
	# is 120 s); here, not in the cached base, so that the base stays valid.
	printf 'LoginGraceTime 600\n' >"$root/etc/ssh/sshd_config.d/tsw-vm-slow.conf"
	# After pam_systemd.so (in common-session), so the session scope exists.
	grep -q pam_tmpfs_sweep "$root/etc/pam.d/sshd" ||
		echo 'session optional pam_tmpfs_sweep.so timeout=30' >>"$root/etc/pam.d/sshd"
	# One key: the host logs in as root with it, the guest's root as the test users.
	rm -f "$out/id_ed25519" "$out/id_ed25519.pub"
	ssh-keygen -q -t ed25519 -N '' -C tsw-vm -f "$out/id_ed25519"
	install -d -m 0700 "$root/root/.ssh"
	install -m 0600 "$out/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
	install -m 0600 "$out/id_ed25519" "$root/root/.ssh/id_ed25519"
	install -m 0644 "$out/id_ed25519.pub" "$root/root/.ssh/id_ed25519.pub"
	printf 'Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  BatchMode yes\n' \
		>"$root/root/.ssh/config"
	for u in $TEST_USERS; do
		name=${u%%:*} uid=${u#*:} home=$root/home/$name
		install -d -m 0700 -o "$uid" -g "$uid" "$home/.ssh"
		install -m 0600 -o "$uid" -g "$uid" "$out/id_ed25519.pub" "$home/.ssh/authorized_keys"
	done
	ssh-keygen -q -A -f "$root" 2>/dev/null || chroot "$root" ssh-keygen -q -A
}

main() {
	local out=${1:?usage: build-image.sh OUTDIR} base root t0 size
	[ "$(id -u)" -eq 0 ] || { log "needs root"; exit 1; }
	ensure_deps
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	t0=$SECONDS
	mkdir -p "$VM_CACHE"
	# One base build at a time (parallel runs wait for it and then share it).
	exec 9>"$VM_CACHE/lock"
	flock 9
	base=$(build_base)
	flock -u 9
	root=$out/rootfs
	rm -rf "$root"
	mkdir "$root"
	t1=$SECONDS
	tar -C "$root" --numeric-owner -xpf "$base/rootfs.tar"
	t2=$SECONDS
	lay_project "$root" "$out"
	t3=$SECONDS
	# Size: what is there + room for the tests' own writes; sparse file, mkfs without loop.
	size=$(( $(du -sm "$root" | cut -f1) + 512 ))
	rm -f "$out/disk.img"
	mkfs.ext4 -q -F -L tsw-root -E root_owner=0:0 -d "$root" "$out/disk.img" "${size}M"
	t4=$SECONDS
	cp "$base/vmlinuz" "$out/vmlinuz"
	cp "$base/initrd.img" "$out/initrd.img"
	rm -rf "$root" "$root.install.log"
	log "image ready in $((SECONDS - t0)) s (base $((t1 - t0)) s, untar $((t2 - t1)) s," \
		"project $((t3 - t2)) s, mkfs $((t4 - t3)) s): $out/disk.img (${size} MB)"
}

case ${1:-} in
deps) ensure_deps ;;
hook-essential) hook_essential "$2" ;;
hook-base) hook_base "$2" ;;
*) main "$@" ;;
esac
