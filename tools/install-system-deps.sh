#!/usr/bin/env bash
# Installs the system tools gnet's interop tests and benchmarks use (Debian packages). Needs root;
# without it, prints what is missing and the tests that need those tools skip with a reason.
set -u
pkgs=(tshark python3-scapy iperf3 tcpreplay nftables iproute2 iputils-ping ethtool libpcap-dev libssl-dev openssl dpdk dpdk-dev util-linux cmake g++)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && { echo "system deps: all present"; exit 0; }
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "system deps: missing ${missing[*]} (run this script as root on Debian/Ubuntu to install them)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  && echo "system deps: installed ${missing[*]}" \
  || echo "system deps: apt-get failed for ${missing[*]}; tests that need them will skip"
