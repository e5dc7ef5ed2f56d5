# Sourced by the bench scripts. stop_pids PID...: SIGTERM to each, up to 5 s for each to exit, then SIGKILL.
# Only processes the script started itself are ever passed here, by their PID.
stop_pids() {
	local pid
	for pid in "$@"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "$@"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	done
	return 0
}
