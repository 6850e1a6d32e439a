#!/bin/bash
# Install the Debian packages the build and the tests need, when any is missing.
# Used by `make check` and `make demo`; safe to run again (does nothing then).
set -eu
pkgs=(gcc make pkg-config libpam0g-dev libsystemd-dev libmount-dev libcmocka-dev
      pamtester libpam-wrapper openssh-server openssh-client mandoc python3 clang
      libclang-rt-14-dev procps util-linux passwd e2fsprogs jq time groff-base logrotate
      systemd iproute2 tmux screen postgresql curl prometheus-node-exporter prometheus
      debhelper dpkg-dev lintian rpm cpio strace)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing ${missing[*]}; run as root or install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
# postgresql is for tests/integration/explain_postgres.sh, which runs a private cluster:
# no main cluster is to be made or started on the machine.
if [[ " ${missing[*]} " == *" postgresql "* ]] &&
	[ ! -e /etc/postgresql-common/createcluster.conf ]; then
	mkdir -p /etc/postgresql-common
	echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
fi
export DEBIAN_FRONTEND=noninteractive
# prometheus and prometheus-node-exporter are here for promtool and for a node_exporter
# that the metrics test starts privately: their packages must not start system-wide
# daemons (policy-rc.d says no to every start while we install, when there is none).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
