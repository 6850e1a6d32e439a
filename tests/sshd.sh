# tests/sshd.sh: a real, private OpenSSH sshd on 127.0.0.1 for integration tests and
# benchmarks, with its PAM stack read from a scratch directory instead of /etc/pam.d.
# Source it AFTER tests/lib.sh (it uses $T_SCRATCH and at_exit). One sshd per test.
# shellcheck shell=bash
#
# How the PAM stack gets in: sshd (OpenSSH 9.2) names its PAM service after its own
# program name, so it is started through a symlink $SSHD_DIR/sshd-tmpfs-test-XXXX ->
# /usr/sbin/sshd (an absolute path: sshd re-executes itself per connection) with
# LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$SSHD_PAMDIR, and the
# service file $SSHD_PAMDIR/$SSHD_SERVICE holds the stack. Module names resolve as in
# /etc/pam.d (a bare pam_exec.so works; $PAM_MODDIR is the system dir), a built module
# goes in by absolute path (session optional $B/pam_tmpfs_sweep.so). Beware: without
# pam_wrapper in effect, a service file that libpam cannot find makes it fall back to
# /etc/pam.d/other without a word, so a test must prove that its stack ran
# (sshd_smoke.sh does, with pam_exec). With pam_wrapper in effect a missing service file
# fails pam_start ("no default config other" in $SSHD_PAMLOG) and the login is refused.
# Messages modules send with pam_syslog land in $SSHD_PAMLOG as "SYSLOG(PRIO): text"
# (pam_wrapper's log; SSHD_PAM_DEBUGLEVEL=0..3 before sshd_start, default 2).
#
# Functions
#   sshd_available         0 when sshd, ssh and pam_wrapper are installed (else skip_all)
#   sshd_start FILE        start sshd with the PAM stack in FILE ("-" reads stdin)
#   sshd_start_stack TEXT  the same with the stack given as text
#   sshd_set_stack TEXT    replace the stack of the running sshd; every new connection
#                          reads it (sshd re-executes itself, libpam rereads the file)
#   sshd_user_key USER     key pair for USER (from scratch_user) + its authorized_keys
#   sshd_ssh USER CMD...   run CMD over ssh as USER; returns ssh's status (CMD's status,
#                          255 for an ssh failure); stdin is not read (-n)
#   sshd_wait_closed [SECS] wait (default 10 s) until the listener has no children
#                          left, i.e. every [priv] process has run close_session and
#                          exited: ssh returns before that happens. 1 on timeout.
#   sshd_stop              stop sshd and everything it started (also done at exit)
#   sshd_default_stack [SESSION_LINES...]  print a stack: pam_permit for auth, account,
#                          password, session, then the given session lines
#   private_root_enter "$@"  (call BEFORE sourcing lib.sh; it re-executes the script)
#                          run the script in a private mount namespace, then
#   private_root_overlay   (after lib.sh) lay scratch overlays over /usr /etc /var /run:
#                          `make install` to / and useradd land there and vanish at exit,
#                          unseen by the rest of the machine and by parallel tests. The
#                          host's /run/tmpfs-sweep, /var/log/tmpfs-sweep and metrics
#                          file are hidden in it.
#   private_root_install   (after private_root_overlay) `make install` of $B to /, so
#                          the module finds the built helper at its LIBEXECDIR; the
#                          make output goes to $T_SCRATCH/make-install.log
# Variables set by sshd_start
#   SSHD_PID (the listener), SSHD_PORT, SSHD_SERVICE (the PAM service name),
#   SSHD_DIR (config, keys, logs), SSHD_PAMDIR, SSHD_LOG (sshd's LogLevel DEBUG1 log),
#   SSHD_PAMLOG (sshd's stderr: pam_wrapper's log with the modules' syslog), SSHD_CONFIG,
#   SSHD_MEMCG (the scratch memory cgroup sshd runs in; removed at exit)
# Set before sshd_start: SSHD_PERMIT_ROOT_LOGIN (sshd_config's PermitRootLogin, default no;
#   prohibit-password lets root in with a key from sshd_user_key root)
# Users: scratch_user makes users without a home (ssh says "Could not chdir to home
# directory" on stderr and goes on) and with a locked password, which UsePAM yes lets
# through to the (pam_permit) account stack; the key is what authenticates.
# Cost: one login + logout on loopback takes about 0.4 s.

PAM_MODDIR=${PAM_MODDIR:-$(pkg-config --variable=libdir pam 2>/dev/null || echo /lib/x86_64-linux-gnu)/security}
SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}
SSHD_PRELOAD=${SSHD_PRELOAD:-$(for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
	[ -e "$d/libpam_wrapper.so" ] && { echo "$d/libpam_wrapper.so"; break; }; done)}
# make check SANITIZE=1: an ASan-built module loads into sshd only if the ASan runtime
# comes first in the process (sshd itself is not instrumented).
if [ -e "${B:-build}/pam_tmpfs_sweep.so" ] && ldd "${B:-build}/pam_tmpfs_sweep.so" 2>/dev/null | grep -q libasan; then
	SSHD_PRELOAD="$(gcc -print-file-name=libasan.so):$SSHD_PRELOAD"
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:verify_asan_link_order=0}
fi
SSHD_PID='' SSHD_PORT='' SSHD_SERVICE='' SSHD_DIR='' SSHD_PAMDIR=''
SSHD_LOG='' SSHD_PAMLOG='' SSHD_CONFIG='' SSHD_MEMCG=''

# sshd_available: 0 when sshd, ssh, ssh-keygen and pam_wrapper are all there.
sshd_available() {
	[ -x "$SSHD_BIN" ] && command -v ssh >/dev/null && command -v ssh-keygen >/dev/null &&
		[ -n "$SSHD_PRELOAD" ] && getent passwd sshd >/dev/null
}

sshd_default_stack() {
	local l
	printf '%s\n' "auth     required $PAM_MODDIR/pam_permit.so" \
		"account  required $PAM_MODDIR/pam_permit.so" \
		"password required $PAM_MODDIR/pam_permit.so" \
		"session  required $PAM_MODDIR/pam_permit.so"
	for l in "$@"; do printf '%s\n' "$l"; done
}

# A TCP port on 127.0.0.1 that nobody holds right now (sshd_start retries on a race).
_sshd_free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_sshd_setup() {
	SSHD_DIR=$(mktemp -d "$T_SCRATCH/sshd.XXXXXX") || return 1
	# sshd reads authorized keys as the user: everything on the way is searchable.
	chmod 755 "$SSHD_DIR"
	mkdir -m 755 "$SSHD_DIR/pam.d" "$SSHD_DIR/ak" && mkdir -m 700 "$SSHD_DIR/keys" || return 1
	SSHD_PAMDIR=$SSHD_DIR/pam.d
	ssh-keygen -q -t ed25519 -N '' -C tsw-host -f "$SSHD_DIR/host_ed25519" || return 1
	chmod 0600 "$SSHD_DIR/host_ed25519"
	SSHD_SERVICE=sshd-tmpfs-test-$(printf '%04x%04x' $RANDOM $RANDOM)
	ln -s "$SSHD_BIN" "$SSHD_DIR/$SSHD_SERVICE" || return 1
	SSHD_LOG=$SSHD_DIR/sshd.log
	SSHD_PAMLOG=$SSHD_DIR/pam.log
	SSHD_CONFIG=$SSHD_DIR/sshd_config
	# sshd's privilege separation directory; harmless if it exists already.
	install -d -m 0755 /run/sshd
}

_sshd_write_config() {
	cat >"$SSHD_CONFIG" <<EOF
ListenAddress 127.0.0.1
Port $SSHD_PORT
HostKey $SSHD_DIR/host_ed25519
PidFile $SSHD_DIR/sshd.pid
UsePAM yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $SSHD_DIR/ak/%u
StrictModes no
PermitRootLogin ${SSHD_PERMIT_ROOT_LOGIN:-no}
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PrintMotd no
PrintLastLog no
UseDNS no
MaxStartups 100:30:200
MaxSessions 20
LogLevel DEBUG1
EOF
}

sshd_start_stack() {
	local f
	f=$(mktemp "$T_SCRATCH/stack.XXXXXX") && printf '%s\n' "$1" >"$f" && sshd_start "$f"
}

sshd_start() {
	local stack=$1 i
	sshd_available || { echo "sshd_start: sshd, ssh or pam_wrapper missing" >&2; return 1; }
	[ -z "$SSHD_PID" ] || { echo "sshd_start: already running" >&2; return 1; }
	_sshd_setup || return 1
	if [ "$stack" = - ]; then cat >"$SSHD_PAMDIR/$SSHD_SERVICE"; else
		cp "$stack" "$SSHD_PAMDIR/$SSHD_SERVICE"; fi || return 1
	chmod 0644 "$SSHD_PAMDIR/$SSHD_SERVICE"
	at_exit sshd_stop
	for _ in 1 2 3 4 5; do
		SSHD_PORT=$(_sshd_free_port) || return 1
		_sshd_write_config
		: >"$SSHD_LOG"
		env LD_PRELOAD="$SSHD_PRELOAD" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$SSHD_PAMDIR" \
			PAM_WRAPPER_DEBUGLEVEL="${SSHD_PAM_DEBUGLEVEL:-2}" \
			"$SSHD_DIR/$SSHD_SERVICE" -D -f "$SSHD_CONFIG" -E "$SSHD_LOG" \
			</dev/null 2>>"$SSHD_PAMLOG" &
		SSHD_PID=$!
		# Its own scratch memory cgroup: what the module makes below it (cgroup=create)
		# goes with it at exit, and parallel tests do not share a parent.
		[ -n "$SSHD_MEMCG" ] || scratch_memcg SSHD_MEMCG 2>/dev/null || SSHD_MEMCG=
		[ -z "$SSHD_MEMCG" ] || echo "$SSHD_PID" >"$SSHD_MEMCG/cgroup.procs"
		for ((i = 0; i < 100; i++)); do
			grep -q "Server listening on 127.0.0.1 port $SSHD_PORT" "$SSHD_LOG" && return 0
			kill -0 "$SSHD_PID" 2>/dev/null || break
			sleep 0.05
		done
		kill -9 "$SSHD_PID" 2>/dev/null; wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
		# Somebody took the port between our probe and sshd's bind: try another.
		grep -q 'Address already in use' "$SSHD_LOG" || break
	done
	echo "sshd_start: sshd did not start; its log:" >&2
	sed 's/^/    /' "$SSHD_LOG" >&2
	return 1
}

sshd_set_stack() {
	[ -n "$SSHD_PAMDIR" ] || return 1
	# rename, so that a connection starting now reads the old stack or the new, whole.
	printf '%s\n' "$1" >"$SSHD_PAMDIR/.$SSHD_SERVICE.new" &&
		chmod 0644 "$SSHD_PAMDIR/.$SSHD_SERVICE.new" &&
		mv -f "$SSHD_PAMDIR/.$SSHD_SERVICE.new" "$SSHD_PAMDIR/$SSHD_SERVICE"
}

# The pids of PID's descendants, deepest last.
_sshd_tree() {
	local c
	for c in $(pgrep -P "$1"); do echo "$c"; _sshd_tree "$c"; done
}

# pam_wrapper copies the service dir to /tmp/pam.X at start and removes it at exit(),
# but sshd's per-connection processes leave with _exit(): remove the copies of ours
# whose process is gone (there are only 62 such names for the whole machine).
_sshd_reap_pamdirs() {
	local d pid
	[ -n "$SSHD_SERVICE" ] || return 0
	for d in /tmp/pam.?; do
		# ours: it holds our service file, or nothing at all (ours without its file)
		[ -f "$d/$SSHD_SERVICE" ] || [ "$(ls -A "$d" 2>/dev/null)" = pid ] || continue
		pid=$(cat "$d/pid" 2>/dev/null) || continue
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && continue
		rm -rf "$d"
	done
}

sshd_stop() {
	local pids
	[ -n "$SSHD_PID" ] || return 0
	pids=$(_sshd_tree "$SSHD_PID")
	kill -TERM "$SSHD_PID" 2>/dev/null
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -9 $pids 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
	SSHD_PID=
	_sshd_reap_pamdirs
}

sshd_user_key() {
	local u=$1
	[ -n "$SSHD_DIR" ] || { echo "sshd_user_key: sshd_start first" >&2; return 1; }
	rm -f "$SSHD_DIR/keys/$u" "$SSHD_DIR/keys/$u.pub"
	ssh-keygen -q -t ed25519 -N '' -C "$u@tsw" -f "$SSHD_DIR/keys/$u" || return 1
	install -m 0644 "$SSHD_DIR/keys/$u.pub" "$SSHD_DIR/ak/$u"
}

sshd_ssh() {
	local u=$1; shift
	ssh -n -F none -T -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null \
		-o LogLevel=ERROR -o ConnectTimeout=10 -o IdentitiesOnly=yes \
		-o ControlMaster=no -o ControlPath=none \
		-i "$SSHD_DIR/keys/$u" -p "$SSHD_PORT" -l "$u" 127.0.0.1 "$@"
}

sshd_wait_closed() {
	local secs=${1:-10} i
	[ -n "$SSHD_PID" ] || return 1
	for ((i = 0; i < secs * 100; i++)); do
		if ! pgrep -P "$SSHD_PID" >/dev/null; then _sshd_reap_pamdirs; return 0; fi
		sleep 0.01
	done
	return 1
}

private_root_enter() {
	[ -n "${TSW_PRIVATE_ROOT:-}" ] && return 0
	command -v unshare >/dev/null || { echo "unshare missing"; exit 77; }
	exec unshare --mount --propagation private env TSW_PRIVATE_ROOT=1 bash "$0" "$@"
}

private_root_overlay() {
	local base d
	[ -n "${TSW_PRIVATE_ROOT:-}" ] || { echo "private_root_overlay: not in private_root_enter" >&2; return 1; }
	# upper and work dirs on a tmpfs: overlayfs needs xattrs, and it all goes at exit.
	scratch_tmpfs base 512m || return 1
	for d in /usr /etc /var /run; do
		mkdir -p "$base$d/upper" "$base$d/work" || return 1
		mount -t overlay "tsw-root$d" -o \
			"lowerdir=$d,upperdir=$base$d/upper,workdir=$base$d/work" "$d" || return 1
		at_exit "umount -l '$d'"
	done
	# A host where tmpfs-sweep is in use has its records, audit log and metrics at the
	# default paths: a test in the private root starts without them (whiteouts in the
	# overlay; the host's files are untouched), so it reads and sweeps only what it made.
	[ "$(stat -f -c %T /run)" = overlayfs ] && [ "$(stat -f -c %T /var)" = overlayfs ] ||
		return 1
	rm -rf /run/tmpfs-sweep /var/log/tmpfs-sweep \
		/var/lib/prometheus/node-exporter/tmpfs-sweep.prom*
}

private_root_install() {
	[ -n "${TSW_PRIVATE_ROOT:-}" ] || { echo "private_root_install: not in a private root" >&2; return 1; }
	make -C "$TOP" --no-print-directory B="$B" install >"$T_SCRATCH/make-install.log" 2>&1 ||
		{ cat "$T_SCRATCH/make-install.log" >&2; return 1; }
}
