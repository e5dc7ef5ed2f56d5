#!/usr/bin/env bash
# The soak benchmark: UserBridge (release build) runs for a long time under mixed traffic, and its memory and garbage
# collections are sampled. Not a CI test (10 minutes by default).
#   hosts 1-3 behind TAP ports, host 4 behind a packet port on a veth, a QEMU-style stream peer that connects and
#   leaves every few seconds (socat); meanwhile: iperf3 TCP from host 1 to host 2 in 30-second runs, iperf3 UDP at
#   200 Mbit/s from host 3 to host 1, ping from host 2 to host 3 every 50 ms, host 4 taking a new MAC address every
#   second and pinging host 1 (learning, moves, aging), and `userbridge stats` and `fdb show` every 5 seconds.
# Every 10 seconds it records the switch's RSS and its gen0/gen1/gen2 collection counts (from its --stats line) to
# OUT/soak.tsv, and prints them; at the end, the first, lowest, highest and last RSS and the collection counts, and the
# ping's loss.
#
# Usage (root): bench/soak/run.sh [--time SECONDS] [--out DIR]
# Everything is named with a prefix unique to the run and removed at the end, also on failure; addresses are
# 198.18.0.1-4/24, with no default route.
set -u -o pipefail
{
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TIME=600 OUT="$HERE/out"
while [ $# -gt 0 ]; do
	case $1 in
	--time) TIME=$2; shift ;;
	--out) OUT=$2; shift ;;
	-h | --help) sed -n '2,/^set -u/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "run.sh: run as root (namespaces, TAPs)" >&2; exit 1; }
for tool in iperf3 ping ip socat dotnet; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install iperf3 iputils-ping iproute2 socat)" >&2; exit 1; }
done

P=soak$(printf '%04x' $((RANDOM % 65536)))
WORK=$(mktemp -d "/tmp/$P.XXXX")
PIDS=""
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# shellcheck source=../stop-pids.sh
. "$HERE/../stop-pids.sh"

teardown() {
	# shellcheck disable=SC2086 # one word per PID
	stop_pids $PIDS
	for host in 1 2 3 4; do ip netns del "$P-n$host" 2>/dev/null; done
	ip link del "$P-v4" 2>/dev/null
	rm -rf "$WORK"
	return 0
}
trap teardown EXIT
trap 'exit 130' INT TERM

# Starts a background process and remembers its PID for the teardown.
spawn() { "$@" > /dev/null 2>&1 & PIDS="$PIDS $!"; }

log "building the release switch"
dotnet build -c Release "$ROOT/src/UserBridge.Cli" -v quiet -nologo > "$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }

ip link add "$P-v4" type veth peer name "$P-t4" && ip link set "$P-v4" up || exit 1
cat > "$WORK/switch.toml" <<EOF
[[port]]
name = "p1"
interface = "$P-t1"

[[port]]
name = "p2"
interface = "$P-t2"

[[port]]
name = "p3"
interface = "$P-t3"

[[port]]
name = "p4"
type = "packet"
interface = "$P-v4"

[[port]]
name = "vm"
type = "qemu-stream"
path = "$WORK/vm.sock"
EOF
"$ROOT/src/UserBridge.Cli/bin/Release/net10.0/userbridge" run --config "$WORK/switch.toml" --name "$P" --control "$WORK/switch.sock" --stats 10 > "$WORK/switch.log" 2>&1 &
SWITCH=$!
PIDS="$PIDS $SWITCH"
for _ in $(seq 100); do grep -q "running:" "$WORK/switch.log" 2>/dev/null && break; sleep 0.1; done
grep -q "running:" "$WORK/switch.log" || { log "the switch did not start: $(tail -3 "$WORK/switch.log")"; exit 1; }

for host in 1 2 3 4; do
	ns=$P-n$host
	ip netns add "$ns" || exit 1
	ip link set "$P-t$host" netns "$ns" || exit 1
	ip -n "$ns" link set lo up && ip -n "$ns" addr add "198.18.0.$host/24" dev "$P-t$host" && ip -n "$ns" link set "$P-t$host" up || exit 1
done
ip netns exec "$P-n2" ping -c 3 -i 0.2 -W 2 -q 198.18.0.3 > /dev/null || log "no ping before the soak"

ctl() { "$ROOT/src/UserBridge.Cli/bin/Release/net10.0/userbridge" "$@" --control "$WORK/switch.sock"; }

spawn ip netns exec "$P-n2" iperf3 -s -p 5201
spawn ip netns exec "$P-n1" iperf3 -s -p 5202
sleep 0.5
spawn bash -c "end=\$((SECONDS + $TIME)); while [ \$SECONDS -lt \$end ]; do ip netns exec $P-n1 iperf3 -c 198.18.0.2 -p 5201 -t 30; done"
spawn bash -c "end=\$((SECONDS + $TIME)); while [ \$SECONDS -lt \$end ]; do ip netns exec $P-n3 iperf3 -c 198.18.0.1 -p 5202 -u -b 200M -t 30; done"
ip netns exec "$P-n2" ping -i 0.05 -w "$TIME" -q 198.18.0.3 > "$WORK/ping.txt" 2>&1 &
PING=$!
PIDS="$PIDS $PING"
spawn bash -c "end=\$((SECONDS + $TIME)); while [ \$SECONDS -lt \$end ]; do ip -n $P-n4 link set $P-t4 address \$(printf '02:%02x:%02x:%02x:%02x:%02x' \$((RANDOM%256)) \$((RANDOM%256)) \$((RANDOM%256)) \$((RANDOM%256)) \$((RANDOM%256))); ip netns exec $P-n4 ping -c 1 -W 1 -q 198.18.0.1; sleep 1; done"
spawn bash -c "end=\$((SECONDS + $TIME)); while [ \$SECONDS -lt \$end ]; do printf '\\x00\\x00\\x00\\x3c\\xff\\xff\\xff\\xff\\xff\\xff\\x52\\x54\\x00\\x12\\x34\\x56\\x88\\xb5%046d' 0 | timeout 2 socat -u - UNIX-CONNECT:$WORK/vm.sock; sleep 3; done"
spawn bash -c "end=\$((SECONDS + $TIME)); while [ \$SECONDS -lt \$end ]; do '$ROOT/src/UserBridge.Cli/bin/Release/net10.0/userbridge' stats -j --control '$WORK/switch.sock'; '$ROOT/src/UserBridge.Cli/bin/Release/net10.0/userbridge' fdb show -j --control '$WORK/switch.sock'; sleep 5; done"

mkdir -p "$OUT"
printf 'seconds\trss_kib\tgc0\tgc1\tgc2\theap_mib\n' > "$OUT/soak.tsv"
log "soaking for $TIME s; samples every 10 s in $OUT/soak.tsv"
start=$SECONDS
while [ $((SECONDS - start)) -lt "$TIME" ]; do
	sleep 10
	kill -0 "$SWITCH" 2>/dev/null || { log "the switch exited: $(tail -5 "$WORK/switch.log")"; exit 1; }
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$SWITCH/status")
	gc=$(grep -o 'gc [0-9]*/[0-9]*/[0-9]*' "$WORK/switch.log" | tail -1 | cut -d' ' -f2)
	heap=$(grep -o 'heap [0-9]* MiB' "$WORK/switch.log" | tail -1 | cut -d' ' -f2)
	printf '%s\t%s\t%s\t%s\n' "$((SECONDS - start))" "$rss" "$(echo "${gc:-0/0/0}" | tr '/' '\t')" "${heap:-0}" | tee -a "$OUT/soak.tsv" >&2
done
wait "$PING"

awk -F'\t' 'NR == 2 {first = $2} NR > 1 {if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2; last = $2; g0 = $3; g1 = $4; g2 = $5; heap = $6; if (NR == 2) {f2 = $5}}
	END {printf "RSS KiB: first %s, lowest %s, highest %s, last %s; collections at the end gen0 %s, gen1 %s, gen2 %s (gen2 at the first sample %s); managed heap at the end %s MiB\n", first, min, max, last, g0, g1, g2, f2, heap}' "$OUT/soak.tsv"
tail -2 "$WORK/ping.txt"
ctl stats | head -12
}
