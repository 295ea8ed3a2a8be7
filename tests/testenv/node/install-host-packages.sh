#!/usr/bin/env bash
# Installs what the test environment's real node needs on the host, from Debian's apt: containerd (CRI),
# runc, the CNI plugins (bridge, host-local, loopback, portmap), debootstrap (the Neo4j image's rootfs)
# and iptables. A no-op when everything is there. Called by `make setup` and by the node component.
set -euo pipefail
PKGS=(containerd runc containernetworking-plugins debootstrap iptables)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "node: install host packages: apt-get is missing; this step needs a Debian/Ubuntu host with" \
       "${missing[*]} installed (or skip the real node: TESTENV_REAL_NODE=0)" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ]; then
  echo "node: install host packages: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 2
fi
echo "[node] apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts containerd as a system service on install; the test node runs its own instance.
if command -v systemctl >/dev/null && systemctl is-active -q containerd 2>/dev/null; then
  systemctl disable --now containerd >/dev/null 2>&1 || true
fi
