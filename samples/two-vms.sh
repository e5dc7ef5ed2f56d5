#!/usr/bin/env bash
# Two QEMU VMs on a UserBridge switch, to try by hand.
#   samples/two-vms.sh            both VMs on one qemu-stream socket (multi = true): no root needed
#   samples/two-vms.sh tap        each VM on its own TAP, attached as packet ports through samples/qemu-ifup (root)
# The guest is the test suite's tiny Debian-kernel + busybox image (tests/guest/build-guest.sh, cached).
# VM a (198.18.0.11) runs in the background; you get VM b's shell (198.18.0.12): try `ping 198.18.0.11`.
# Leave with Ctrl-A X; the script then stops VM a and the switch (by their PIDs) and removes its files.
# UB_USERBRIDGE: the userbridge program (default: userbridge on PATH; build it with
#   dotnet publish src/UserBridge.Cli -c Release -o out  and use UB_USERBRIDGE=out/userbridge).
set -euo pipefail
mode="${1:-stream}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
userbridge="${UB_USERBRIDGE:-userbridge}"
work="$(mktemp -d /tmp/ub-two-vms.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "building (or reusing) the guest image..."
mapfile -t image < <("$here/../tests/guest/build-guest.sh")
kernel="${image[0]}" initrd="${image[1]}"

case "$mode" in
  stream)
    cat >"$work/switch.toml" <<TOML
name = "twovms"
[[port]]
name = "vm"
type = "qemu-stream"
path = "$work/vms.sock"
multi = true
TOML
    netdev_a=(-netdev "stream,id=n0,server=off,addr.type=unix,addr.path=$work/vms.sock")
    netdev_b=("${netdev_a[@]}")
    ;;
  tap)
    [ "$(id -u)" -eq 0 ] || { echo "tap mode needs root (QEMU creates TAPs)"; exit 1; }
    printf 'name = "twovms"\n' >"$work/switch.toml"
    export UB_CONTROL="$work/control.sock" UB_USERBRIDGE="$userbridge"
    netdev_a=(-netdev "tap,id=n0,ifname=twovms-a,script=$here/qemu-ifup,downscript=$here/qemu-ifdown")
    netdev_b=(-netdev "tap,id=n0,ifname=twovms-b,script=$here/qemu-ifup,downscript=$here/qemu-ifdown")
    ;;
  *) echo "usage: $0 [stream|tap]"; exit 2 ;;
esac

# In tap mode the switch starts with no port: qemu-ifup adds each VM's TAP as the VM starts.
"$userbridge" run --config "$work/switch.toml" --control "$work/control.sock" --stats 0 >"$work/switch.log" 2>&1 &
pids+=($!)
until grep -q "running:" "$work/switch.log"; do
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$work/switch.log"; exit 1; }
  sleep 0.2
done
echo "switch up (log: $work/switch.log; try: $userbridge fdb show --control $work/control.sock)"

vm() { # name mac address netdev...
  local name="$1" mac="$2" address="$3"; shift 3
  exec qemu-system-x86_64 -name "$name" -accel tcg -m 256 -nographic -no-reboot -nodefaults -serial stdio \
    -kernel "$kernel" -initrd "$initrd" -append "console=ttyS0 quiet panic=-1 ub.mac=$mac ub.ip=$address/24" \
    "$@" -device "virtio-net-pci,netdev=n0,mac=$mac,romfile="
}
vm vm-a 52:54:00:12:34:0a 198.18.0.11 "${netdev_a[@]}" </dev/null >"$work/vm-a.log" 2>&1 &
pids+=($!)
echo "VM a starting in the background (console: $work/vm-a.log); VM b's console follows."
(vm vm-b 52:54:00:12:34:0b 198.18.0.12 "${netdev_b[@]}")
