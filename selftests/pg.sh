# SPDX-License-Identifier: GPL-2.0-only
#
# A throw-away PostgreSQL server for tests, sourced by shell tests or run
# as a command by C tests:
#
#   source selftests/pg.sh; pg_start            # sets PG_DIR, PG_CONN, PG_URL
#   pg_sql "SELECT ..."                         # psql -At on it
#   pg_restart [fast|immediate]                 # stop and start it again
#   pg_cleanup                                  # stop it, remove PG_DIR
#
#   bash selftests/pg.sh start DIR OWNER_PID    # prints the conninfo
#   bash selftests/pg.sh halt DIR [MODE]        # stop, keep the data
#   bash selftests/pg.sh resume DIR             # start it again
#   bash selftests/pg.sh stop DIR               # stop, remove DIR
#
# The server runs with fsync=off unless PG_FSYNC=on (a benchmark that
# compares durability costs wants it on).
# The cluster lives in a fresh temporary directory (initdb, trust
# authentication for the local user "postgres" only), runs as the
# unprivileged user postgres (or nobody) and listens on a Unix socket in
# that directory only: listen_addresses is empty, so it has no TCP port. A
# watcher process outlives nothing: when the owner (the test) exits, however
# it exits (failure, signal, SIGKILL), the watcher stops the server
# (immediate mode) and removes the directory. pg_cleanup does the same at
# once, for a test's EXIT trap.

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PG_DIR=
PG_CONN=
PG_URL=
_pg_watch=

# The unprivileged account the server runs as.
_pg_user() { id -u postgres >/dev/null 2>&1 && echo postgres || echo nobody; }
_pg_as() { if [ "$(id -u)" = 0 ]; then runuser -u "$(_pg_user)" -- "$@"; else "$@"; fi; }

# pg_require: skip the test (exit 4) without a PostgreSQL server binary.
pg_require() {
	[ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] ||
		{ echo "# SKIP needs PostgreSQL (scripts/setup.sh installs postgresql-15)"; exit 4; }
	command -v psql >/dev/null || { echo "# SKIP needs psql"; exit 4; }
}

# _pg_init DIR: a new cluster in DIR/data, not started.
_pg_init() {
	local dir=$1
	chmod 0755 "$dir"	# the socket must be reachable by csmpd's user
	[ "$(id -u)" = 0 ] && chown "$(_pg_user)" "$dir"
	_pg_as "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
		--locale=C --no-sync --no-instructions >"$dir/initdb.log" 2>&1 || {
		sed 's/^/# initdb: /' "$dir/initdb.log" >&2
		return 1
	}
}

# _pg_ctl_start DIR: start the cluster of DIR; wait until it accepts connections.
_pg_ctl_start() {
	local dir=$1
	_pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
		-o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=${PG_FSYNC:-off} -c max_connections=40" \
		start >/dev/null || {
		sed 's/^/# postgres: /' "$dir/server.log" >&2
		return 1
	}
}

# _pg_ctl_stop DIR [MODE]: stop the cluster of DIR (MODE: fast).
_pg_ctl_stop() {
	[ -f "$1/data/postmaster.pid" ] || return 0
	_pg_as "$PG_BIN/pg_ctl" -D "$1/data" -m "${2:-fast}" -w -t 30 stop >/dev/null 2>&1
}

# _pg_watch DIR OWNER: in the background, stop and remove DIR once OWNER is gone.
_pg_watch() {
	local dir=$1 owner=$2
	setsid bash -c '
		while kill -0 "$1" 2>/dev/null; do sleep 0.5; done
		[ -f "$2/data/postmaster.pid" ] && $4 "$3/pg_ctl" -D "$2/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
			{ p=$(head -n 1 "$2/data/postmaster.pid" 2>/dev/null); [ -n "$p" ] && kill -QUIT "$p" 2>/dev/null; }
		sleep 0.2
		rm -rf "$2"' _ "$owner" "$dir" "$PG_BIN" \
		"$([ "$(id -u)" = 0 ] && echo "runuser -u $(_pg_user) --")" </dev/null >/dev/null 2>&1 &
	echo $!
}

_pg_conninfo() { echo "host=$1 port=5432 dbname=postgres user=postgres"; }

# pg_start: a new server for this shell; PG_DIR, PG_CONN (key=value) and
# PG_URL (postgresql://) name it.
pg_start() {
	PG_DIR=$(mktemp -d /tmp/csmp-pg.XXXXXX) || return 1
	_pg_init "$PG_DIR" && _pg_ctl_start "$PG_DIR" || { pg_cleanup; return 1; }
	_pg_watch=$(_pg_watch "$PG_DIR" $$)
	PG_CONN=$(_pg_conninfo "$PG_DIR")
	PG_URL="postgresql:///postgres?host=$PG_DIR&user=postgres"
}

# pg_sql SQL...: run SQL on the test server, unaligned rows, no header.
pg_sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -v ON_ERROR_STOP=1 "$PG_CONN" -c "$*"; }

# pg_stop [MODE] / pg_restart [MODE]: stop (and start) the server, keeping its data.
pg_stop() { _pg_ctl_stop "$PG_DIR" "${1:-fast}"; }
pg_restart() { pg_stop "${1:-fast}" && _pg_ctl_start "$PG_DIR"; }

# pg_cleanup: stop the server and remove its directory (idempotent).
pg_cleanup() {
	[ -n "$PG_DIR" ] || return 0
	_pg_ctl_stop "$PG_DIR" immediate
	[ -n "$_pg_watch" ] && kill "$_pg_watch" 2>/dev/null
	rm -rf "$PG_DIR"
	PG_DIR= PG_CONN= PG_URL= _pg_watch=
}

# Run as a command (C tests): start DIR OWNER_PID | stop DIR.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	case ${1:-} in
	start)
		[ $# = 3 ] || { echo "usage: pg.sh start DIR OWNER_PID" >&2; exit 2; }
		[ -x "$PG_BIN/initdb" ] || { echo "pg.sh: no PostgreSQL server installed" >&2; exit 4; }
		_pg_init "$2" && _pg_ctl_start "$2" || exit 1
		_pg_watch "$2" "$3" >/dev/null
		_pg_conninfo "$2"
		;;
	halt)
		[ $# -ge 2 ] || { echo "usage: pg.sh halt DIR [MODE]" >&2; exit 2; }
		_pg_ctl_stop "$2" "${3:-fast}"
		;;
	resume)
		[ $# = 2 ] || { echo "usage: pg.sh resume DIR" >&2; exit 2; }
		_pg_ctl_start "$2"
		;;
	stop)
		[ $# = 2 ] || { echo "usage: pg.sh stop DIR" >&2; exit 2; }
		_pg_ctl_stop "$2" immediate
		rm -rf "$2"
		;;
	*)
		echo "usage: pg.sh start DIR OWNER_PID | halt DIR [MODE] | resume DIR | stop DIR" >&2
		exit 2
		;;
	esac
fi
