#!/usr/bin/env bash
# pgcluster.sh — a highly available PostgreSQL 15 on loopback for the hub-replica tests: one etcd node and two
# Patroni members in synchronous mode (a primary and a synchronous standby), as operators run it.
#
#   scripts/pgcluster.sh start         install (when missing) and start a fresh cluster; no-op when it is healthy
#   scripts/pgcluster.sh stop          stop everything by PID (patroni, then the postmasters, then etcd); no-op when stopped
#   scripts/pgcluster.sh status        print the members; exit 0 only when a leader and a synchronous standby exist
#   scripts/pgcluster.sh kill-primary  a node crash: SIGKILL the leader's patroni and its postmaster together; prints
#                                      the member killed
#   scripts/pgcluster.sh rejoin        restart the patroni of a killed member (pg_rewind, then a standby again)
#   scripts/pgcluster.sh install       only install the packages
#
# Ports (127.0.0.1 only, clear of targets.sh's): PostgreSQL 15510/15511, Patroni REST 18010/18011, etcd 12390
# (client) and 12391 (peer). Everything lives under one directory (default /tmp/watchword-pgcluster, or
# $WATCHWORD_PGCLUSTER_DIR); each start wipes its data and takes a new Patroni scope, since Patroni reads its
# timings from etcd after the first bootstrap. Tests read $DIR/pgcluster.env: PGCLUSTER_DSN (multi-host,
# target_session_attrs=read-write, so a client follows a failover), PGCLUSTER_REST, PGCLUSTER_PG_PORTS.
# PostgreSQL and Patroni refuse root: as root, every server runs as the postgres user.
# The facts behind the settings (ttl, wal_retrieve_retry_interval, why a "primary failure" kills patroni and its
# postmaster together, the fast teardown) are in ../shared/notes/postgres-ha.md.
set -euo pipefail

DIR=${WATCHWORD_PGCLUSTER_DIR:-/tmp/watchword-pgcluster}
PG_PORTS=(15510 15511)
REST_PORTS=(18010 18011)
ETCD_CLIENT=12390
ETCD_PEER=12391
READY_TIMEOUT=${WW_PGCLUSTER_READY_TIMEOUT:-60}
PG_BIN=${WW_PG_BIN:-/usr/lib/postgresql/15/bin}
DB=watchword
SUPERPASS=pgpass

log() { printf 'pgcluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

# The user the servers run as: postgres when we are root, else ourselves.
if [ "$(id -u)" = 0 ]; then RUN_AS=postgres; else RUN_AS=$(id -un); fi
as_user() {
	if [ "$(id -u)" = 0 ]; then runuser -u "$RUN_AS" -- "$@"; else "$@"; fi
}

# ---------------------------------------------------------------------------------------------------------------
# packages

PKGS=(postgresql-15 patroni etcd-server etcd-client curl)

install_pkgs() {
	local p missing=()
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "must run as root to install ${missing[*]}"
	log "installing: ${missing[*]}"
	# The packages' postinst would start etcd, patroni and a 15/main cluster on the default ports.
	local own_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		own_policy=1
	fi
	local rc=0 aptlog="${TMPDIR:-/tmp}/watchword-pgcluster-apt.log"
	apt_install "${missing[@]}" || rc=$?
	if [ "$rc" -ne 0 ]; then
		log "install failed; refreshing the package lists once"
		apt-get -o DPkg::Lock::Timeout=120 update -qq && rc=0 || rc=$?
		[ "$rc" -eq 0 ] && { apt_install "${missing[@]}" || rc=$?; }
	fi
	[ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
	[ "$rc" -eq 0 ] || { tail -n 20 "$aptlog" >&2; die "apt-get install ${missing[*]} failed"; }
	# Where systemd runs, the units the packages enabled must not start at the next boot either.
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		systemctl disable --now etcd patroni postgresql >/dev/null 2>&1 || true
	fi
}

apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends "$@" \
		>"${TMPDIR:-/tmp}/watchword-pgcluster-apt.log" 2>&1
}

# ---------------------------------------------------------------------------------------------------------------
# processes

# alive PID: the process runs; a zombie (killed, not yet reaped by PID 1, whose child every daemon here is) does not.
alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# pid_is PID WORD: PID runs and its command line holds WORD and this cluster's directory (a recycled PID, or a
# process of another cluster, is never signalled).
pid_is() {
	local pid=$1 word=$2 cmd
	[ -n "$pid" ] && alive "$pid" || return 1
	cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
	[[ $cmd == *"$word"* && $cmd == *"$DIR"* ]]
}

pidfile_is() { [ -s "$1" ] && pid_is "$(cat "$1")" "$2"; }

# postmaster_pid N: the PID of member N's postmaster, from its data directory.
postmaster_pid() {
	local f="$DIR/p$1/postmaster.pid" pid
	[ -s "$f" ] || return 1
	pid=$(head -n1 "$f" 2>/dev/null)
	pid_is "$pid" postgres && echo "$pid"
}

# spawn NAME PIDFILE CMD...: CMD as the server user, in a session of its own, detached, its output in
# $DIR/NAME.log; the PID written is the server's own (the shell execs it).
spawn() {
	local name=$1 pidfile=$2
	shift 2
	as_user setsid -f sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >"$DIR/$name.log" 2>&1
	local i
	for i in $(seq 1 50); do
		[ -s "$pidfile" ] && return 0
		sleep 0.02
	done
	die "$name did not start"
}

# rest_member WHAT: the member number (1 or 2) whose REST API answers /WHAT (primary, sync) with 200.
rest_member() {
	local what=$1 i
	for i in 0 1; do
		if curl -sf -m 1 -o /dev/null "http://127.0.0.1:${REST_PORTS[$i]}/$what"; then
			echo $((i + 1))
			return 0
		fi
	done
	return 1
}

wait_for() {
	local what=$1 deadline
	deadline=$(awk -v t="$(now)" -v d="$READY_TIMEOUT" 'BEGIN{printf "%d", t+d}')
	while [ "$(date +%s)" -lt "$deadline" ]; do
		rest_member "$what" >/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------------------------------------------------------

write_member() {
	local n=$1 i=$(($1 - 1))
	cat >"$DIR/n$n.yml" <<-EOF
		scope: $SCOPE
		namespace: /service/
		name: n$n
		restapi:
		  listen: 127.0.0.1:${REST_PORTS[$i]}
		  connect_address: 127.0.0.1:${REST_PORTS[$i]}
		etcd3:
		  hosts: 127.0.0.1:$ETCD_CLIENT
		bootstrap:
		  dcs:
		    ttl: 10
		    loop_wait: 1
		    retry_timeout: 4
		    maximum_lag_on_failover: 1048576
		    synchronous_mode: true
		    postgresql:
		      use_pg_rewind: true
		      use_slots: true
		      parameters:
		        wal_level: replica
		        hot_standby: "on"
		        max_wal_senders: 5
		        max_replication_slots: 5
		        wal_log_hints: "on"
		        wal_retrieve_retry_interval: 100ms
		        max_connections: 300
		  initdb:
		  - encoding: UTF8
		  - locale: C.UTF-8
		  - no-sync
		postgresql:
		  listen: 127.0.0.1:${PG_PORTS[$i]}
		  connect_address: 127.0.0.1:${PG_PORTS[$i]}
		  data_dir: $DIR/p$n
		  bin_dir: $PG_BIN
		  pgpass: $DIR/n$n.pgpass
		  authentication:
		    superuser:   {username: postgres,   password: $SUPERPASS}
		    replication: {username: replicator, password: reppass}
		    rewind:      {username: rewinder,   password: rewpass}
		  parameters:
		    unix_socket_directories: $DIR
		  pg_hba:
		  - local all         all                trust
		  - host  all         all  127.0.0.1/32  trust
		  - host  replication all  127.0.0.1/32  trust
	EOF
}

start_patroni() { spawn "patroni-n$1" "$DIR/patroni-n$1.pid" /usr/bin/patroni "$DIR/n$1.yml"; }

dsn() {
	local db=$1
	printf 'postgres://postgres:%s@127.0.0.1:%s,127.0.0.1:%s/%s?target_session_attrs=read-write&connect_timeout=2' \
		"$SUPERPASS" "${PG_PORTS[0]}" "${PG_PORTS[1]}" "$db"
}

write_env() {
	local f="$DIR/pgcluster.env"
	cat >"$f.tmp" <<-EOF
		# written by scripts/pgcluster.sh; test-only credentials for a cluster on loopback
		WATCHWORD_PGCLUSTER_DIR='$DIR'
		PGCLUSTER_DSN='$(dsn "$DB")'
		PGCLUSTER_ADMIN_DSN='$(dsn postgres)'
		PGCLUSTER_REST='127.0.0.1:${REST_PORTS[0]},127.0.0.1:${REST_PORTS[1]}'
		PGCLUSTER_PG_PORTS='${PG_PORTS[0]},${PG_PORTS[1]}'
		PGCLUSTER_SCRIPT='$(cd "$(dirname "$0")" && pwd)/$(basename "$0")'
	EOF
	chmod 644 "$f.tmp"
	mv "$f.tmp" "$f"
}

any_running() {
	local n
	pidfile_is "$DIR/etcd.pid" etcd && return 0
	for n in 1 2; do
		pidfile_is "$DIR/patroni-n$n.pid" patroni && return 0
		postmaster_pid "$n" >/dev/null && return 0
	done
	return 1
}

cmd_start() {
	if cmd_status >/dev/null 2>&1; then
		log "already running; env $DIR/pgcluster.env"
		return 0
	fi
	install_pkgs
	any_running && cmd_stop
	local t0 t1
	t0=$(now)
	mkdir -p "$DIR"
	rm -rf "$DIR/etcd" "$DIR/p1" "$DIR/p2" "$DIR"/*.log "$DIR/pgcluster.env"
	chmod 700 "$DIR"
	[ "$(id -u)" = 0 ] && chown "$RUN_AS:" "$DIR"
	SCOPE="ww-$(date +%s)-$$"
	echo "$SCOPE" >"$DIR/scope"
	spawn etcd "$DIR/etcd.pid" /usr/bin/etcd --name e1 --data-dir "$DIR/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_CLIENT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
		--initial-cluster "e1=http://127.0.0.1:$ETCD_PEER" --initial-cluster-state new
	local deadline=$((SECONDS + READY_TIMEOUT))
	until curl -sf -m 1 -o /dev/null "http://127.0.0.1:$ETCD_CLIENT/health"; do
		[ "$SECONDS" -lt "$deadline" ] || { tail -n 30 "$DIR/etcd.log" >&2; cmd_stop; die "etcd not healthy within ${READY_TIMEOUT}s"; }
		pidfile_is "$DIR/etcd.pid" etcd || { tail -n 30 "$DIR/etcd.log" >&2; cmd_stop; die "etcd exited"; }
		sleep 0.05
	done
	log "etcd healthy in $(since "$t0")s"
	local n
	for n in 1 2; do
		write_member "$n"
		chown "$RUN_AS:" "$DIR/n$n.yml" 2>/dev/null || true
		start_patroni "$n"
	done
	t1=$(now)
	wait_for primary || { tail -n 30 "$DIR"/patroni-n*.log >&2; cmd_stop; die "no writable leader within ${READY_TIMEOUT}s"; }
	log "leader writable in $(since "$t1")s"
	# A commit waits for the standby only once Patroni names it in synchronous_standby_names: the schema and the
	# tests must come after that, or their first commits are not synchronous.
	wait_for sync || { tail -n 30 "$DIR"/patroni-n*.log >&2; cmd_stop; die "no synchronous standby within ${READY_TIMEOUT}s"; }
	log "synchronous standby in $(since "$t1")s"
	local leader
	leader=$(rest_member primary)
	as_user "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "${PG_PORTS[$((leader - 1))]}" -U postgres -d postgres \
		-c "CREATE DATABASE $DB" >/dev/null || { cmd_stop; die "create database $DB failed"; }
	write_env
	log "up in $(since "$t0")s; env $DIR/pgcluster.env"
}

# wait_gone PID...: wait (10 s at most) for every PID to exit, then SIGKILL what is left.
wait_gone() {
	local pid deadline=$((SECONDS + 10)) left
	while :; do
		left=()
		for pid in "$@"; do alive "$pid" && left+=("$pid"); done
		[ "${#left[@]}" -eq 0 ] && return 0
		[ "$SECONDS" -lt "$deadline" ] || break
		sleep 0.05
	done
	log "still running after 10 s, killing: ${left[*]}"
	kill -KILL "${left[@]}" 2>/dev/null || true
	sleep 0.2
}

# strays: PIDs of processes (pg_basebackup, pg_rewind, a postmaster not yet in its pidfile) that a killed patroni
# left with this cluster's directory on their command line.
strays() {
	local f p cmd
	for f in $(grep -lsF "$DIR/" /proc/[0-9]*/cmdline); do
		p=${f#/proc/}
		p=${p%/cmdline}
		[ "$p" = $$ ] && continue
		cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
		case "$cmd" in *postgres* | *pg_basebackup* | *pg_rewind* | *pg_ctl* | *patroni* | *etcd*) echo "$p" ;; esac
	done
}

cmd_stop() {
	[ -d "$DIR" ] || return 0
	local t0 pids=() n pid
	t0=$(now)
	# Fast teardown: patroni first (so that it restarts nothing), then each postmaster with SIGQUIT (immediate
	# shutdown; its children follow it), then etcd.
	for n in 1 2; do
		if pidfile_is "$DIR/patroni-n$n.pid" patroni; then
			pid=$(cat "$DIR/patroni-n$n.pid")
			kill -KILL "$pid" 2>/dev/null || true
			pids+=("$pid")
		fi
	done
	[ "${#pids[@]}" -gt 0 ] && wait_gone "${pids[@]}"
	pids=()
	for n in 1 2; do
		if pid=$(postmaster_pid "$n"); then
			kill -QUIT "$pid" 2>/dev/null || true
			pids+=("$pid")
		fi
	done
	for pid in $(strays); do
		case "$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" || true)" in *etcd*) continue ;; esac
		kill -QUIT "$pid" 2>/dev/null || true
		pids+=("$pid")
	done
	[ "${#pids[@]}" -gt 0 ] && wait_gone "${pids[@]}"
	if pidfile_is "$DIR/etcd.pid" etcd; then
		pid=$(cat "$DIR/etcd.pid")
		kill -TERM "$pid" 2>/dev/null || true
		wait_gone "$pid"
	fi
	mapfile -t pids < <(strays)
	if [ "${#pids[@]}" -gt 0 ]; then
		kill -KILL "${pids[@]}" 2>/dev/null || true
		wait_gone "${pids[@]}"
	fi
	rm -f "$DIR"/*.pid "$DIR/pgcluster.env"
	rm -rf "$DIR/etcd" "$DIR/p1" "$DIR/p2"
	log "stopped in $(since "$t0")s"
}

cmd_status() {
	[ -d "$DIR" ] || { echo "pgcluster: stopped"; return 1; }
	local n i pm role ok=1
	if pidfile_is "$DIR/etcd.pid" etcd; then echo "etcd: running (pid $(cat "$DIR/etcd.pid"))"; else echo "etcd: stopped"; fi
	for n in 1 2; do
		i=$((n - 1))
		role=down
		if curl -sf -m 1 -o /dev/null "http://127.0.0.1:${REST_PORTS[$i]}/primary"; then
			role=leader
		elif curl -sf -m 1 -o /dev/null "http://127.0.0.1:${REST_PORTS[$i]}/sync"; then
			role=sync-standby
		elif curl -sf -m 1 -o /dev/null "http://127.0.0.1:${REST_PORTS[$i]}/replica"; then
			role=standby
		fi
		pm=$(postmaster_pid "$n" || echo -)
		if pidfile_is "$DIR/patroni-n$n.pid" patroni; then
			echo "n$n: $role (patroni pid $(cat "$DIR/patroni-n$n.pid"), postmaster $pm, 127.0.0.1:${PG_PORTS[$i]})"
		else
			echo "n$n: patroni stopped (postmaster $pm)"
		fi
	done
	rest_member primary >/dev/null && rest_member sync >/dev/null && [ -s "$DIR/pgcluster.env" ] && ok=0
	[ "$ok" = 0 ] && echo "env: $DIR/pgcluster.env"
	return "$ok"
}

cmd_kill_primary() {
	local n pm pat
	n=$(rest_member primary) || die "no leader to kill"
	pat=$(cat "$DIR/patroni-n$n.pid" 2>/dev/null || true)
	pm=$(postmaster_pid "$n") || die "n$n: no postmaster"
	pidfile_is "$DIR/patroni-n$n.pid" patroni || die "n$n: patroni not running"
	# Both at once, as a host dies: killing patroni alone leaves a writable orphan postmaster (a split brain).
	kill -KILL "$pat" "$pm"
	wait_gone "$pat" "$pm"
	rm -f "$DIR/patroni-n$n.pid"
	echo "n$n"
}

cmd_rejoin() {
	local n started=0
	for n in 1 2; do
		pidfile_is "$DIR/patroni-n$n.pid" patroni && continue
		SCOPE=$(cat "$DIR/scope")
		start_patroni "$n"
		started=1
		log "n$n: patroni restarted"
	done
	[ "$started" = 1 ] || log "every member's patroni runs"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
kill-primary) cmd_kill_primary ;;
rejoin) cmd_rejoin ;;
install) install_pkgs ;;
*)
	echo "usage: $0 start|stop|status|kill-primary|rejoin|install" >&2
	exit 2
	;;
esac
