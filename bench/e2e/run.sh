#!/usr/bin/env bash
# The end-to-end benchmark: two network namespaces talk through the system under test, and iperf3 and ping measure
# it. Systems (interleaved, each repetition in a rotated order):
#   userbridge    this switch (release build), two TAP ports, both access ports of VLAN 10 (learning, VLAN-aware),
#                 its default of one poller thread serving both
#   kbridge       the Linux bridge, namespaces on veth pairs
#   tapfwd        bench/e2e/tapfwd.c: two TAPs, read() -> write(), no offloads (built here with gcc)
#   tapfwd-vnet   the same with virtio-net headers and TSO: 64 KiB frames pass whole
#   vde           vde_switch -t TAP1 -t TAP2 (Debian vde2)
#   ovs           Open vSwitch's userspace (netdev) datapath, two internal ports, private db and run directory
#   ovs-tso       the same with other_config:userspace-tso-enable=true
# and, on request (--systems), UserBridge variants:
#   userbridge-threads   with a thread per port instead of the poller (pollers = 0)
#   userbridge-1cpu      with its forwarding thread on CPU 0 (cpus = "0"), leaving the other cores to the hosts
#   userbridge-capture   with an always-on capture of every port to a file in the scratch directory
#   userbridge-32        with 30 more TAP ports, idle
# Tests: tcp1 and tcp2 (iperf3 TCP, 1 and 2 streams), udp64 (iperf3 UDP, 64-byte payloads, unlimited rate: pps
# delivered, and the share the namespace-side interface dropped on transmit, i.e. at the switch's ingress queue),
# ping (RTT of 200 pings 10 ms apart), and the switch's CPU use during each iperf3 test. UserBridge's GC counts
# are read from its stats line before and after.
#
# Usage (root): bench/e2e/run.sh [--systems LIST] [--reps N] [--time S] [--tests LIST] [--out DIR] [--smoke]
#   --smoke: 1 repetition of 2 s per test, userbridge and kbridge only (a check that the harness works); its report
#   goes to DIR, not bench/.
# Raw results go to DIR/raw (default bench/e2e/out, not kept in git); then bench/e2e/Report writes bench/RESULTS.md and
# bench/results.png from them. Everything is named with a prefix unique to the run and removed at the end, also on
# failure; addresses are 198.18.0.1 and .2/24, with no default route.
set -u -o pipefail
{
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SYSTEMS="userbridge,kbridge,tapfwd,tapfwd-vnet,vde,ovs,ovs-tso"
TESTS="tcp1,tcp2,udp64,ping"
REPS=3 TIME=10 OUT="$HERE/out" REPORT=1 RESULTS="$ROOT/bench/RESULTS.md" CHART="$ROOT/bench/results.png"
while [ $# -gt 0 ]; do
	case $1 in
	--systems) SYSTEMS=$2; shift ;;
	--reps) REPS=$2; shift ;;
	--time) TIME=$2; shift ;;
	--tests) TESTS=$2; shift ;;
	--out) OUT=$2; shift ;;
	--no-report) REPORT=0 ;;
	--smoke) REPS=1 TIME=2 SYSTEMS="userbridge,kbridge" RESULTS="" ;;
	-h | --help) sed -n '2,/^set -u/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "run.sh: run as root (namespaces, TAPs)" >&2; exit 1; }

P=e2e$(printf '%04x' $((RANDOM % 65536)))
NS1=$P-n1 NS2=$P-n2 NS0=$P-n0 TAP1=$P-t1 TAP2=$P-t2 BR=$P-br
IP1=198.18.0.1 IP2=198.18.0.2
WORK=$(mktemp -d "/tmp/$P.XXXX")
RAW=$OUT/raw
SWITCH_PIDS="" OVS_DIR=$WORK/ovs OVS_NETDEV_OURS=0
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

need() { for tool in "$@"; do command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install iperf3 iproute2 iputils-ping gcc vde2 openvswitch-switch)" >&2; exit 1; }; done; }
need iperf3 ip ping gcc dotnet

# shellcheck source=../stop-pids.sh
. "$HERE/../stop-pids.sh"

stop_switch() {
	# shellcheck disable=SC2086 # one word per PID
	stop_pids $SWITCH_PIDS
	SWITCH_PIDS=""
}

ovs() { OVS_RUNDIR=$OVS_DIR OVS_LOGDIR=$OVS_DIR OVS_DBDIR=$OVS_DIR "$@"; }
ovs_stop() {
	[ -d "$OVS_DIR" ] || return 0
	[ -S "$OVS_DIR/vswitchd.ctl" ] && timeout 5 ovs ovs-appctl -t "$OVS_DIR/vswitchd.ctl" exit --cleanup >/dev/null 2>&1
	[ -S "$OVS_DIR/ovsdb.ctl" ] && timeout 5 ovs ovs-appctl -t "$OVS_DIR/ovsdb.ctl" exit >/dev/null 2>&1
	local pidfile
	for pidfile in "$OVS_DIR"/*.pid; do [ -f "$pidfile" ] && kill -KILL "$(cat "$pidfile")" 2>/dev/null; done
	rm -rf "$OVS_DIR"
	ip link del "$BR" 2>/dev/null
	# The netdev datapath's own TAP outlives vswitchd: remove it when our vswitchd made it.
	[ "$OVS_NETDEV_OURS" = 1 ] && ip link del ovs-netdev 2>/dev/null
	OVS_NETDEV_OURS=0
	return 0
}

teardown() {
	[ -f "$WORK/iperf.pid" ] && kill "$(cat "$WORK/iperf.pid")" 2>/dev/null
	rm -f "$WORK/iperf.pid"
	stop_switch
	exec 7>&-
	ovs_stop
	local name
	for name in $NS1 $NS2 $NS0; do ip netns del "$name" 2>/dev/null; done
	for name in $TAP1 $TAP2; do ip link del "$name" 2>/dev/null; done
	rm -f "$WORK/capture.pcapng"
	return 0
}
trap 'teardown; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

configure() { # NS IF ADDRESS
	ip -n "$1" link set lo up && ip -n "$1" addr add "$3/24" dev "$2" && ip -n "$1" link set "$2" up
}

# The switch opened its TAPs in this namespace; move them into the host namespaces (its fds keep working).
move_taps() {
	local tap
	for tap in $TAP1 $TAP2; do
		for _ in $(seq 100); do ip link show "$tap" >/dev/null 2>&1 && break; sleep 0.1; done
		ip link show "$tap" >/dev/null 2>&1 || { log "$tap did not appear"; return 1; }
	done
	ip link set "$TAP1" netns "$NS1" && ip link set "$TAP2" netns "$NS2" &&
		configure "$NS1" "$TAP1" $IP1 && configure "$NS2" "$TAP2" $IP2
}

wait_for_line() { # FILE TEXT
	for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	log "no '$2' in $1: $(tail -3 "$1")"
	return 1
}

setup() { # SYSTEM
	ip netns add "$NS1" && ip netns add "$NS2" || return 1
	case $1 in
	userbridge | userbridge-threads | userbridge-1cpu | userbridge-capture | userbridge-32)
		printf '[[port]]\nname = "p1"\ninterface = "%s"\nmode = "access"\nvlan = 10\n\n[[port]]\nname = "p2"\ninterface = "%s"\nmode = "access"\nvlan = 10\n' "$TAP1" "$TAP2" > "$WORK/ub.toml"
		if [ "$1" = userbridge-32 ]; then
			# 30 more ports, idle: TAPs nobody uses, each with its worker waiting in poll.
			for i in $(seq 3 32); do printf '\n[[port]]\nname = "p%s"\ninterface = "%s-i%s"\nmode = "access"\nvlan = 10\n' "$i" "$P" "$i"; done >> "$WORK/ub.toml"
		fi
		[ "$1" = userbridge-capture ] && printf '\n[capture]\nfile = "%s/capture.pcapng"\n' "$WORK" >> "$WORK/ub.toml"
		[ "$1" = userbridge-1cpu ] && sed -i '1i cpus = "0"' "$WORK/ub.toml"
		[ "$1" = userbridge-threads ] && sed -i '1i pollers = 0' "$WORK/ub.toml"
		"$ROOT/src/UserBridge.Cli/bin/Release/net10.0/userbridge" run --config "$WORK/ub.toml" --name "$P" --control "$WORK/ub.sock" --stats 1 > "$WORK/switch.log" 2>&1 &
		SWITCH_PIDS=$!
		wait_for_line "$WORK/switch.log" "running:" && move_taps ;;
	kbridge)
		ip netns add "$NS0" && ip -n "$NS0" link add "$BR" type bridge && ip -n "$NS0" link set "$BR" up &&
			ip -n "$NS0" link add "$P-b1" type veth peer name "$TAP1" netns "$NS1" &&
			ip -n "$NS0" link add "$P-b2" type veth peer name "$TAP2" netns "$NS2" &&
			ip -n "$NS0" link set "$P-b1" master "$BR" up && ip -n "$NS0" link set "$P-b2" master "$BR" up &&
			configure "$NS1" "$TAP1" $IP1 && configure "$NS2" "$TAP2" $IP2 ;;
	tapfwd | tapfwd-vnet)
		local vnet=""
		[ "$1" = tapfwd-vnet ] && vnet=--vnet
		"$WORK/tapfwd" $vnet "$TAP1" "$TAP2" > "$WORK/switch.log" 2>&1 &
		SWITCH_PIDS=$!
		wait_for_line "$WORK/switch.log" ready && move_taps ;;
	vde)
		need vde_switch
		# vde_switch ends when its stdin closes: its stdin is a FIFO this script holds open until the teardown.
		rm -f "$WORK/vde.stdin" && mkfifo "$WORK/vde.stdin"
		vde_switch -t "$TAP1" -t "$TAP2" -s "$WORK/vde.ctl" < "$WORK/vde.stdin" > "$WORK/switch.log" 2>&1 &
		SWITCH_PIDS=$!
		exec 7> "$WORK/vde.stdin"
		move_taps ;;
	ovs | ovs-tso)
		need ovs-vswitchd ovsdb-server
		ip link show ovs-netdev >/dev/null 2>&1 || OVS_NETDEV_OURS=1
		mkdir -p "$OVS_DIR"
		ovs ovsdb-tool create "$OVS_DIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema &&
			ovs ovsdb-server "$OVS_DIR/conf.db" --remote="punix:$OVS_DIR/db.sock" --pidfile="$OVS_DIR/ovsdb.pid" \
				--unixctl="$OVS_DIR/ovsdb.ctl" --log-file="$OVS_DIR/ovsdb.log" --detach --no-chdir 2>/dev/null || return 1
		local vsctl=(ovs ovs-vsctl --db="unix:$OVS_DIR/db.sock" --timeout=20)
		"${vsctl[@]}" --no-wait init || return 1
		[ "$1" = ovs-tso ] && { "${vsctl[@]}" --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true || return 1; }
		ovs ovs-vswitchd "unix:$OVS_DIR/db.sock" --pidfile="$OVS_DIR/vswitchd.pid" --unixctl="$OVS_DIR/vswitchd.ctl" \
			--log-file="$OVS_DIR/vswitchd.log" --detach --no-chdir 2>/dev/null || return 1
		SWITCH_PIDS=""
		"${vsctl[@]}" add-br "$BR" -- set bridge "$BR" datapath_type=netdev &&
			"${vsctl[@]}" add-port "$BR" "$TAP1" -- set interface "$TAP1" type=internal &&
			"${vsctl[@]}" add-port "$BR" "$TAP2" -- set interface "$TAP2" type=internal || return 1
		sleep 1
		move_taps ;;
	*) log "unknown system $1"; return 1 ;;
	esac
}

# The processes whose CPU counts: the switch's, or OVS's vswitchd.
cpu_ticks() {
	local pids=$SWITCH_PIDS total=0 pid
	[ -f "$OVS_DIR/vswitchd.pid" ] && pids=$(cat "$OVS_DIR/vswitchd.pid")
	for pid in $pids; do
		[ -r "/proc/$pid/stat" ] || continue
		set -- $(sed 's/^.*) //' "/proc/$pid/stat")
		total=$((total + ${12} + ${13}))
	done
	echo $total
}

gc_count() { [ -f "$WORK/switch.log" ] && grep -o 'gc [0-9/]*' "$WORK/switch.log" | tail -1 | cut -d' ' -f2; }

run_test() { # REP SYSTEM TEST
	local base="$RAW/$1-$2-$3" before after gc_before
	ip netns exec "$NS2" iperf3 -s -D -1 -p 5201 --pidfile "$WORK/iperf.pid" >/dev/null 2>&1
	sleep 0.3
	before=$(cpu_ticks) gc_before=$(gc_count)
	case $3 in
	tcp1) ip netns exec "$NS1" iperf3 -c $IP2 -p 5201 -t "$TIME" -J > "$base.json" ;;
	tcp2) ip netns exec "$NS1" iperf3 -c $IP2 -p 5201 -t "$TIME" -P 2 -J > "$base.json" ;;
	udp64)
		ip -n "$NS1" -s -j link show dev "$TAP1" > "$base.link-before.json"
		ip netns exec "$NS1" iperf3 -c $IP2 -p 5201 -t "$TIME" -u -b 0 -l 64 -J > "$base.json"
		ip -n "$NS1" -s -j link show dev "$TAP1" > "$base.link-after.json" ;;
	ping)
		[ -f "$WORK/iperf.pid" ] && kill "$(cat "$WORK/iperf.pid")" 2>/dev/null
		ip netns exec "$NS1" ping -c 200 -i 0.01 $IP2 > "$base.txt" ;;
	esac
	after=$(cpu_ticks)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$TIME" "$((after - before))" "$(getconf CLK_TCK)" "${gc_before:-}>$(gc_count)" >> "$RAW/meta.tsv"
	rm -f "$WORK/iperf.pid"
}

log "building userbridge (Release) and tapfwd"
dotnet build "$ROOT/src/UserBridge.Cli" -c Release -v quiet -nologo > "$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
gcc -O2 -Wall -pthread -o "$WORK/tapfwd" "$HERE/tapfwd.c" || exit 1
rm -rf "$RAW" && mkdir -p "$RAW"
printf 'rep\tsystem\ttest\tseconds\tcpu_ticks\tclk_tck\tgc\n' > "$RAW/meta.tsv"
echo "$(uname -r) $(nproc) cores; $(iperf3 --version | head -1); userbridge $(git -C "$ROOT" rev-parse --short HEAD)" > "$RAW/host.txt"

IFS=, read -r -a systems <<< "$SYSTEMS"
IFS=, read -r -a tests <<< "$TESTS"
for rep in $(seq "$REPS"); do
	for i in "${!systems[@]}"; do
		system=${systems[$(((i + rep - 1) % ${#systems[@]}))]}
		log "rep $rep/$REPS: $system"
		if ! setup "$system"; then
			log "$system: setup failed; skipped in this repetition"
			teardown
			continue
		fi
		ip netns exec "$NS1" ping -c 3 -i 0.2 -W 2 -q $IP2 >/dev/null || log "$system: no ping before the tests"
		for test in "${tests[@]}"; do
			run_test "$rep" "$system" "$test"
			log "  $test done"
		done
		teardown
	done
done

if [ "$REPORT" = 1 ]; then
	[ -n "$RESULTS" ] || RESULTS=$OUT/RESULTS.md CHART=$OUT/results.png
	log "writing the report"
	dotnet run -c Release --project "$HERE/Report" -- "$RAW" "$RESULTS" "$CHART"
fi
exit 0
}
