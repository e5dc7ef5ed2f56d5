#!/usr/bin/env bash
# The VLAN sample: samples/vlan-trunk.toml, with a namespace behind each port. The trunk's namespace has
# 802.1Q subinterfaces t.10 and t.20 (needs the 8021q module; Debian's stock kernel has it); the access
# namespaces are plain hosts. Every address is in 198.18.0.0/24 on purpose: only the VLANs keep them apart.
#   sudo samples/vlan-trunk.sh        (UB_USERBRIDGE=out/userbridge to use a published build)
# It pings what must answer and what must not, shows `vlan show`, then removes everything (also on Ctrl-C).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
userbridge="${UB_USERBRIDGE:-userbridge}"
work="$(mktemp -d /tmp/ub-vlan.XXXXXX)"
switch_pid=
cleanup() {
  for ns in vl-a10 vl-b20 vl-trunk; do ip netns delete "$ns" 2>/dev/null || true; done
  [ -n "$switch_pid" ] && kill "$switch_pid" 2>/dev/null && wait "$switch_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
modprobe 8021q 2>/dev/null || true
[ -d /proc/net/vlan ] || { echo "this host has no 802.1Q support (modprobe 8021q)"; exit 1; }

"$userbridge" run --config "$here/vlan-trunk.toml" --control "$work/control.sock" --stats 0 >"$work/switch.log" 2>&1 &
switch_pid=$!
until grep -q "running:" "$work/switch.log"; do kill -0 "$switch_pid" || { cat "$work/switch.log"; exit 1; }; sleep 0.2; done

host() { # namespace interface address
  ip netns add "$1"
  ip link set dev "$2" netns "$1"
  ip -n "$1" link set lo up
  ip -n "$1" link set "$2" up
  [ -z "${3:-}" ] || ip -n "$1" address add "$3" dev "$2"
}
host vl-a10 vl-a10 198.18.0.10/24
host vl-b20 vl-b20 198.18.0.20/24
host vl-trunk vl-trunk
ip -n vl-trunk link add link vl-trunk name t.10 type vlan id 10
ip -n vl-trunk link add link vl-trunk name t.20 type vlan id 20
ip -n vl-trunk address add 198.18.0.110/24 dev t.10
ip -n vl-trunk address add 198.18.0.120/32 dev t.20
ip -n vl-trunk route add 198.18.0.20/32 dev t.20
ip -n vl-trunk link set t.10 up
ip -n vl-trunk link set t.20 up

check() { # expectation namespace target
  if ip netns exec "$2" ping -c 2 -W 1 -q "$3" >/dev/null 2>&1; then got=reaches; else got=isolated; fi
  printf '%-9s %-9s -> %-13s %s\n' "$([ "$got" = "$1" ] && echo ok || echo WRONG)" "$2" "$3" "$got"
}
check reaches vl-trunk 198.18.0.10     # over t.10, tagged 10 on the trunk, untagged at the access port
check reaches vl-trunk 198.18.0.20     # over t.20
check isolated vl-a10 198.18.0.20      # VLAN 10 to VLAN 20: same subnet, different VLAN
echo
"$userbridge" vlan show --control "$work/control.sock"
echo
"$userbridge" fdb show --control "$work/control.sock"
