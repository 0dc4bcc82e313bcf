#!/usr/bin/env bash
# shellcheck shell=bash disable=SC2034  # PG_CLUSTER_* are for the scripts that source this file
#
# A throwaway PostgreSQL cluster for tests and benchmarks.
#
# Sourced (scripts/test.sh, benchmark scripts):
#
#     source scripts/pg-cluster.sh
#     trap pg_cluster_stop EXIT                       # also runs on failure (set -e) ...
#     trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM   # ... and on interrupt
#     pg_cluster_start || exit 1
#     ...                 # CROSSCHECK_TEST_PG_URL and CROSSCHECK_TEST_PG_SUPERUSER_URL are exported
#     pg_cluster_stop     # optional: the EXIT trap does it
#
# Run directly:
#
#     scripts/pg-cluster.sh run [--] COMMAND [ARG...]   start, run COMMAND, stop (exit: COMMAND's)
#     eval "$(scripts/pg-cluster.sh start)"             start and leave running (for iterating on
#                                                       tests: scripts/test.sh then uses its URL)
#     scripts/pg-cluster.sh stop "$PG_CLUSTER_DIR"      stop that one and remove its directory
#
# pg_cluster_start:
# * If CROSSCHECK_TEST_PG_URL is set, it is used as is and nothing is started;
#   CROSSCHECK_TEST_PG_SUPERUSER_URL defaults to it (tests that create databases need a superuser).
# * Otherwise it finds initdb/pg_ctl/postgres under /usr/lib/postgresql/*/bin (highest version that
#   works; PG_BINDIR overrides), installing Debian's `postgresql` package with apt-get when they are
#   missing and we are root. It runs initdb in a temp dir, on a free port, listening on 127.0.0.1
#   and on a unix socket inside the temp dir, with fsync, full_page_writes and synchronous_commit
#   off. As root the server runs as `postgres` (or a dedicated `crosscheck-pg` system user, created
#   when `postgres` does not exist): PostgreSQL refuses to run as root.
# * The superuser role `crosscheck` gets a random per-run password: scram-sha-256 over TCP,
#   trust over the unix socket. The database `crosscheck_test` is created, and
#       CROSSCHECK_TEST_PG_URL=postgres://crosscheck:PASSWORD@127.0.0.1:PORT/crosscheck_test
#   and CROSSCHECK_TEST_PG_SUPERUSER_URL (the same: the role is a superuser) are exported.
# * Also set (not exported): PG_CLUSTER_DIR, PG_CLUSTER_PORT, PG_CLUSTER_SOCKET_DIR,
#   PG_CLUSTER_BINDIR, PG_CLUSTER_VERSION, PG_CLUSTER_USER, PG_CLUSTER_PASSWORD, PG_CLUSTER_OWNER.
# * It returns non-zero with a message on stderr when no server can be had; on failure it cleans up
#   what it made. One line on stderr says what it did.
# * Besides the caller's EXIT trap, a detached watcher process stops the cluster if the calling
#   shell dies without running its traps (SIGKILL, e.g. a CI timeout killing the process group).
#
# Helpers once started: pg_cluster_url [DB] (the TCP URL of a database of the temp cluster),
# pg_cluster_psql [PSQL ARGS...] (psql as superuser on CROSSCHECK_TEST_PG_SUPERUSER_URL, either mode).
#
# Works with or without `set -euo pipefail` in the caller.

PG_CLUSTER_ROLE=crosscheck
PG_CLUSTER_DATABASE=crosscheck_test
# What this shell started (never exported, so never inherited from a parent's cluster): the temp
# cluster's directory or 1 when CROSSCHECK_TEST_PG_URL was used as is, and the watcher's PID.
_pg_cluster_dir=${_pg_cluster_dir:-}
_pg_cluster_external=${_pg_cluster_external:-}
_pg_cluster_watcher=${_pg_cluster_watcher:-}
_pg_cluster_no_watch=${_pg_cluster_no_watch:-}
_pg_cluster_self=$(readlink -f "${BASH_SOURCE[0]}")

pg_cluster__say() { printf 'pg-cluster: %s\n' "$*" >&2; }

# Runs a command as the cluster's OS user (as the current user when not root), from /: the
# caller's working directory may be unreadable to that user (e.g. under /root).
# Call sites put output redirections on a subshell, `(pg_cluster__as_owner ...) >FILE`, never on
# the function call itself: bash applies those to the calling shell while the function runs, so an
# interrupt's traps (the caller's EXIT trap) would write into FILE.
pg_cluster__as_owner() {
    if [ -n "${PG_CLUSTER_OWNER:-}" ]; then
        (cd / && exec runuser -u "$PG_CLUSTER_OWNER" -- env LC_ALL=C "$@")
    else
        (cd / && LC_ALL=C exec "$@")
    fi
}

# Prints the version ("15.18") of the server binaries in directory $1 if initdb, pg_ctl and postgres
# are there, run, and agree; fails otherwise.
pg_cluster__bindir_version() {
    local dir=$1 tool out version='' v
    for tool in postgres initdb pg_ctl; do
        [ -f "$dir/$tool" ] && [ -x "$dir/$tool" ] || return 1
        out=$("$dir/$tool" --version 2>/dev/null) || return 1
        v=${out#*) }        # "initdb (PostgreSQL) 15.18 (Debian ...)" -> "15.18 (Debian ...)"
        v=${v%% *}
        [ -n "$v" ] && [ "$v" != "$out" ] || return 1
        [ -z "$version" ] || [ "$version" = "$v" ] || return 1
        version=$v
    done
    printf '%s\n' "$version"
}

# Prints the directory holding usable server binaries: $PG_BINDIR if set, else the highest version
# under /usr/lib/postgresql/*/bin, else the directory of a pg_ctl on PATH (symlinks resolved).
pg_cluster__find_bindir() {
    local dir
    if [ -n "${PG_BINDIR:-}" ]; then
        if pg_cluster__bindir_version "$PG_BINDIR" >/dev/null; then
            printf '%s\n' "$PG_BINDIR"
            return 0
        fi
        pg_cluster__say "PG_BINDIR=$PG_BINDIR does not hold working initdb, pg_ctl and postgres"
        return 1
    fi
    while IFS= read -r dir; do
        [ -n "$dir" ] || continue
        if pg_cluster__bindir_version "$dir" >/dev/null; then
            printf '%s\n' "$dir"
            return 0
        fi
    done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -V -r)
    if dir=$(command -v pg_ctl 2>/dev/null) && dir=$(readlink -f "$dir") && dir=${dir%/*} &&
        pg_cluster__bindir_version "$dir" >/dev/null; then
        printf '%s\n' "$dir"
        return 0
    fi
    return 1
}

pg_cluster__install() {
    if [ "$(id -u)" -ne 0 ]; then
        pg_cluster__say "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under" \
            "/usr/lib/postgresql/*/bin. Install them (Debian: sudo apt-get install postgresql)," \
            "point PG_BINDIR at them, or set CROSSCHECK_TEST_PG_URL to an existing server."
        return 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        pg_cluster__say "PostgreSQL server binaries not found and apt-get is not available:" \
            "install PostgreSQL, set PG_BINDIR, or set CROSSCHECK_TEST_PG_URL."
        return 1
    fi
    pg_cluster__say "PostgreSQL server binaries not found: installing them (apt-get install postgresql)"
    # Keep Debian's package from creating and starting a system-wide `main` cluster on port 5432:
    # we only want the binaries. (pg_createcluster reads this directory; harmless if it exists.)
    mkdir -p /etc/postgresql-common/createcluster.d &&
        if [ ! -e /etc/postgresql-common/createcluster.d/crosscheck-no-main-cluster.conf ]; then
            printf '%s\n' '# written by crosscheck scripts/pg-cluster.sh: binaries only, no main cluster' \
                'create_main_cluster = false' \
                >/etc/postgresql-common/createcluster.d/crosscheck-no-main-cluster.conf
        fi || return 1
    if ! DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
        ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >&2; then
        pg_cluster__say "apt-get install postgresql failed"
        return 1
    fi
}

# Sets PG_CLUSTER_OWNER: empty when not root (run as ourselves), else `postgres` or a dedicated
# system user created on the spot.
pg_cluster__pick_owner() {
    PG_CLUSTER_OWNER=''
    [ "$(id -u)" -eq 0 ] || return 0
    if ! command -v runuser >/dev/null 2>&1; then
        pg_cluster__say "running as root, but runuser (util-linux) is missing: cannot run PostgreSQL as a non-root user"
        return 1
    fi
    if id -u postgres >/dev/null 2>&1; then
        PG_CLUSTER_OWNER=postgres
    elif id -u crosscheck-pg >/dev/null 2>&1; then
        PG_CLUSTER_OWNER=crosscheck-pg
    elif useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin crosscheck-pg >/dev/null 2>&1; then
        PG_CLUSTER_OWNER=crosscheck-pg
    else
        pg_cluster__say "running as root and there is no postgres user; could not create user crosscheck-pg"
        return 1
    fi
}

pg_cluster__port_busy() {
    if command -v ss >/dev/null 2>&1; then
        [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# A random port that nothing listens on, outside the kernel's ephemeral range.
pg_cluster__pick_port() {
    local eph_lo=32768 eph_hi=60999 lo hi port i
    read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
    if [ "$eph_lo" -gt 16000 ]; then
        lo=15000 hi=$((eph_lo - 1))
    else
        lo=$((eph_hi + 1)) hi=65535
    fi
    if [ $((hi - lo)) -lt 100 ]; then lo=15000 hi=65000; fi
    for i in $(seq 1 100); do
        port=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
        if ! pg_cluster__port_busy "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    return 1
}

# Writes stdin to file $1, owned by the cluster's user (the server must read it whatever our umask).
# A CA and a server certificate signed by it (CN localhost, SAN localhost and 127.0.0.1), the
# server's pair in the data directory; the CA certificate in $1/tls for the tests.
pg_cluster__make_certs() {
    local dir=$1 data=$2 tls=$1/tls
    if ! command -v openssl >/dev/null 2>&1; then
        [ "$(id -u)" = 0 ] && apt-get install -y -qq openssl >/dev/null 2>&1 || return 1
    fi
    mkdir -p "$tls" && chmod 0755 "$tls" || return 1
    (
        cd "$tls" || exit 1
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=crosscheck test CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -keyout ca.key -out ca.crt &&
            openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr &&
            printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
                "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >server.ext &&
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile server.ext -out server.crt
    ) >"$dir/tls.log" 2>&1 || return 1
    chmod 0644 "$tls/ca.crt" || return 1
    pg_cluster__write_owned "$data/server.crt" <"$tls/server.crt" || return 1
    pg_cluster__write_owned "$data/server.key" <"$tls/server.key" || return 1
    rm -f "$tls/ca.key" "$tls/server.key"
}

pg_cluster__write_owned() {
    cat >"$1" || return 1
    chmod 0600 "$1" || return 1
    if [ -n "${PG_CLUSTER_OWNER:-}" ]; then chown "$PG_CLUSTER_OWNER:" "$1" || return 1; fi
}

# psql with no PG* variables from the environment, no ~/.psqlrc, stopping at the first error.
pg_cluster__psql_clean() {
    local psql=psql v
    if [ -n "${PG_CLUSTER_BINDIR:-}" ] && [ -x "$PG_CLUSTER_BINDIR/psql" ]; then psql=$PG_CLUSTER_BINDIR/psql; fi
    (
        for v in $(compgen -e); do
            case $v in PG*) unset "$v" ;; esac
        done
        exec "$psql" -X -q -v ON_ERROR_STOP=1 "$@"
    )
}

# A detached process that stops the cluster if this shell dies without running its EXIT trap
# (SIGKILL, e.g. from a timeout killing the whole process group). It holds none of our file
# descriptors, so nothing waiting for our output waits for it; pg_cluster_stop ends it.
pg_cluster__start_watcher() {
    [ -z "$_pg_cluster_no_watch" ] && command -v setsid >/dev/null 2>&1 || return 0
    # shellcheck disable=SC2016
    setsid bash -c '
        for fd in /proc/$$/fd/*; do
            fd=${fd##*/}
            case $fd in 0 | 1 | 2 | *[!0-9]*) ;; *) eval "exec $fd>&-" ;; esac
        done
        while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done
        if [ -d "$2" ]; then source "$3" && pg_cluster_stop "$2"; fi
    ' pg-cluster-watch "$$" "$PG_CLUSTER_DIR" "$_pg_cluster_self" </dev/null >/dev/null 2>&1 &
    _pg_cluster_watcher=$!
}

pg_cluster_url() {
    if [ -z "${PG_CLUSTER_PORT:-}" ]; then
        pg_cluster__say "pg_cluster_url: no temp cluster running"
        return 1
    fi
    printf 'postgres://%s:%s@127.0.0.1:%s/%s\n' "$PG_CLUSTER_USER" "$PG_CLUSTER_PASSWORD" \
        "$PG_CLUSTER_PORT" "${1:-$PG_CLUSTER_DATABASE}"
}

pg_cluster_psql() {
    pg_cluster__psql_clean -d "${CROSSCHECK_TEST_PG_SUPERUSER_URL:?no PostgreSQL cluster started}" "$@"
}

pg_cluster_start() {
    if [ -n "${CROSSCHECK_TEST_PG_URL:-}" ]; then
        export CROSSCHECK_TEST_PG_URL
        export CROSSCHECK_TEST_PG_SUPERUSER_URL="${CROSSCHECK_TEST_PG_SUPERUSER_URL:-$CROSSCHECK_TEST_PG_URL}"
        _pg_cluster_external=1
        pg_cluster__say "using the PostgreSQL server of CROSSCHECK_TEST_PG_URL (no temp cluster started)"
        return 0
    fi
    if [ -n "$_pg_cluster_dir" ]; then
        pg_cluster__say "a temp cluster is already running in $_pg_cluster_dir"
        return 1
    fi
    if ! pg_cluster__start_temp; then
        pg_cluster_stop
        return 1
    fi
}

pg_cluster__start_temp() {
    local bindir version parent dir data socket password port started='' q
    PG_CLUSTER_PORT='' PG_CLUSTER_DIR='' PG_CLUSTER_SOCKET_DIR='' PG_CLUSTER_PASSWORD='' PG_CLUSTER_OWNER=''
    bindir=$(pg_cluster__find_bindir) ||
        { [ -z "${PG_BINDIR:-}" ] && pg_cluster__install && bindir=$(pg_cluster__find_bindir); } ||
        {
            pg_cluster__say "no usable PostgreSQL server binaries (looked under /usr/lib/postgresql/*/bin)"
            return 1
        }
    version=$(pg_cluster__bindir_version "$bindir") || return 1
    pg_cluster__pick_owner || return 1

    # The directory and everything in it belong to us (root or the caller); only data/, socket/ and
    # log/ belong to the server's user, which needs to traverse the directory (0711) but not write
    # it. $TMPDIR may be unreachable for that user (e.g. /root/tmp) or too long for a unix socket
    # path (107 bytes): then use /tmp.
    for parent in "${TMPDIR:-/tmp}" /tmp; do
        parent=${parent%/}
        case $parent in /?*) ;; *) parent=/tmp ;; esac
        dir=$(mktemp -d "$parent/crosscheck-pg.XXXXXX") || return 1
        _pg_cluster_dir=$dir PG_CLUSTER_DIR=$dir
        data=$dir/data socket=$dir/socket
        if mkdir -m 0700 "$data" "$socket" "$dir/log" && chmod 0711 "$dir" &&
            { [ -z "$PG_CLUSTER_OWNER" ] || chown "$PG_CLUSTER_OWNER:" "$data" "$socket" "$dir/log"; } &&
            [ ${#socket} -le 80 ] &&
            (pg_cluster__as_owner test -w "$data" -a -w "$socket") 2>/dev/null; then
            break
        fi
        rm -rf -- "$dir"
        _pg_cluster_dir='' PG_CLUSTER_DIR=''
        if [ "$parent" = /tmp ]; then
            pg_cluster__say "cannot make a temp dir usable by ${PG_CLUSTER_OWNER:-$(id -un)} under /tmp"
            return 1
        fi
    done
    PG_CLUSTER_SOCKET_DIR=$socket
    PG_CLUSTER_BINDIR=$bindir
    PG_CLUSTER_VERSION=$version
    PG_CLUSTER_USER=$PG_CLUSTER_ROLE
    # State for `pg-cluster.sh stop DIR` (from another shell); the directory is ours, not the server's.
    printf 'owner=%s\nbindir=%s\n' "$PG_CLUSTER_OWNER" "$bindir" >"$dir/cluster.state" || return 1
    pg_cluster__start_watcher

    password=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n') && [ ${#password} -eq 48 ] || {
        pg_cluster__say "cannot generate a password from /dev/urandom"
        return 1
    }
    PG_CLUSTER_PASSWORD=$password
    printf '%s\n' "$password" | pg_cluster__write_owned "$dir/log/pwfile" || return 1
    if ! (pg_cluster__as_owner "$bindir/initdb" -D "$data" -U "$PG_CLUSTER_ROLE" --pwfile="$dir/log/pwfile" \
        -E UTF8 --locale=C --auth-local=trust --auth-host=scram-sha-256 --no-sync) >"$dir/initdb.log" 2>&1; then
        pg_cluster__say "initdb failed:"
        tail -n 20 "$dir/initdb.log" >&2
        return 1
    fi
    rm -f -- "$dir/log/pwfile"

    pg_cluster__write_owned "$data/pg_hba.conf" <<EOF || return 1
# crosscheck temp cluster: trust over the unix socket (setup), passwords over TCP.
local   all           all                   trust
local   replication   all                   trust
host    all           all    127.0.0.1/32   scram-sha-256
host    replication   all    127.0.0.1/32   scram-sha-256
EOF
    printf "\ninclude 'crosscheck.conf'\n" >>"$data/postgresql.conf" || return 1
    q=${socket//\'/\'\'}

    # TLS for the sslmode tests: a CA of its own and a certificate for localhost / 127.0.0.1.
    local ssl_conf="ssl = off"
    if pg_cluster__make_certs "$dir" "$data"; then
        ssl_conf="ssl = on"
        export CROSSCHECK_TEST_PG_CA="$dir/tls/ca.crt"
    else
        pg_cluster__say "no TLS (openssl missing or failed): the sslmode tests will not run"
    fi

    for _ in 1 2 3 4 5 6 7 8; do
        port=$(pg_cluster__pick_port) || {
            pg_cluster__say "no free TCP port found"
            return 1
        }
        pg_cluster__write_owned "$data/crosscheck.conf" <<EOF || return 1
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$q'
fsync = off
full_page_writes = off
synchronous_commit = off
password_encryption = 'scram-sha-256'
$ssl_conf
EOF
        pg_cluster__write_owned "$dir/log/postgres.log" </dev/null || return 1
        if (pg_cluster__as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/log/postgres.log" -w -t 60 -s start) \
            >"$dir/pg_ctl.log" 2>&1; then
            started=1
            break
        fi
        # Someone took the port between our check and the bind: try another one.
        grep -q -e 'could not bind' -e 'could not create any TCP/IP sockets' -e 'Address already in use' \
            "$dir/log/postgres.log" 2>/dev/null || break
    done
    if [ -z "$started" ]; then
        pg_cluster__say "the PostgreSQL server did not start:"
        tail -n 20 "$dir/pg_ctl.log" "$dir/log/postgres.log" >&2
        return 1
    fi
    PG_CLUSTER_PORT=$port

    if ! (pg_cluster__psql_clean -h "$socket" -p "$port" -U "$PG_CLUSTER_ROLE" -d postgres \
        -c "CREATE DATABASE $PG_CLUSTER_DATABASE") >&2; then
        pg_cluster__say "cannot create database $PG_CLUSTER_DATABASE"
        return 1
    fi
    export CROSSCHECK_TEST_PG_URL
    export CROSSCHECK_TEST_PG_SUPERUSER_URL
    CROSSCHECK_TEST_PG_URL=$(pg_cluster_url) || return 1
    CROSSCHECK_TEST_PG_SUPERUSER_URL=$CROSSCHECK_TEST_PG_URL
    # Check the exported URL itself: TCP, password authentication.
    if ! (pg_cluster__psql_clean -d "$CROSSCHECK_TEST_PG_URL" -c 'SELECT 1') >/dev/null; then
        pg_cluster__say "cannot connect with the URL over TCP"
        return 1
    fi
    pg_cluster__say "started PostgreSQL $version on 127.0.0.1:$port (temp cluster in $dir," \
        "server running as ${PG_CLUSTER_OWNER:-$(id -un)})"
}

# Stops the temp cluster this shell started (or the one in directory $1) and removes its
# directory. Never fails and never exits: safe in an EXIT trap, with or without set -e.
pg_cluster_stop() {
    local dir=${1:-$_pg_cluster_dir} owner=${PG_CLUSTER_OWNER:-} bindir=${PG_CLUSTER_BINDIR:-}
    local line pid='' stopped='' mine=''
    if [ -z "${1:-}" ] && [ -n "$_pg_cluster_external" ]; then
        _pg_cluster_external=
        return 0
    fi
    [ -n "$dir" ] || return 0
    if [ "$dir" = "$_pg_cluster_dir" ]; then
        mine=1
    else
        owner='' bindir=''
        if [ ! -d "$dir" ]; then
            pg_cluster__say "no temp cluster in $dir"
            return 0
        fi
    fi
    case $dir in
    */crosscheck-pg.*) ;;
    *)
        pg_cluster__say "refusing to remove $dir: not a crosscheck temp cluster directory"
        return 0
        ;;
    esac
    if [ -n "$mine" ] && [ -n "$_pg_cluster_watcher" ]; then
        kill "$_pg_cluster_watcher" 2>/dev/null || true
        _pg_cluster_watcher=
    fi
    if [ -z "$mine" ] && [ -f "$dir/cluster.state" ]; then
        while IFS= read -r line; do
            case $line in
            owner=*) owner=${line#owner=} ;;
            bindir=*) bindir=${line#bindir=} ;;
            esac
        done <"$dir/cluster.state"
    fi
    if [ -f "$dir/data/postmaster.pid" ]; then
        IFS= read -r pid <"$dir/data/postmaster.pid" || true
        if [ -n "$bindir" ] &&
            (PG_CLUSTER_OWNER=$owner pg_cluster__as_owner \
                "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 -s stop) >/dev/null 2>&1; then
            stopped=1
        fi
        # Fallback: signal the postmaster, if that PID is still this cluster's postmaster.
        if [ -z "$stopped" ] && [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
            tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/data"; then
            kill -QUIT "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
        fi
    fi
    rm -rf -- "$dir" 2>/dev/null || rm -rf -- "$dir" || true
    if [ -n "$mine" ]; then
        if [ -n "${PG_CLUSTER_PORT:-}" ]; then
            pg_cluster__say "stopped the temp cluster on port $PG_CLUSTER_PORT and removed $dir"
        else
            pg_cluster__say "removed $dir"
        fi
        if [ -n "${PG_CLUSTER_PORT:-}" ]; then
            unset CROSSCHECK_TEST_PG_URL CROSSCHECK_TEST_PG_SUPERUSER_URL
        fi
        _pg_cluster_dir='' PG_CLUSTER_DIR='' PG_CLUSTER_PORT='' PG_CLUSTER_PASSWORD='' PG_CLUSTER_SOCKET_DIR=''
        PG_CLUSTER_OWNER='' PG_CLUSTER_BINDIR='' PG_CLUSTER_VERSION='' PG_CLUSTER_USER=''
    else
        pg_cluster__say "stopped the temp cluster in $dir and removed it"
    fi
    return 0
}

pg_cluster__main() {
    local cmd=${1:-}
    shift || true
    case $cmd in
    run)
        [ "${1:-}" != -- ] || shift
        if [ $# -eq 0 ]; then
            pg_cluster__say "usage: pg-cluster.sh run [--] COMMAND [ARG...]"
            return 2
        fi
        trap pg_cluster_stop EXIT
        trap 'exit 129' HUP
        trap 'exit 130' INT
        trap 'exit 143' TERM
        pg_cluster_start || exit 1
        "$@"
        ;;
    start)
        _pg_cluster_no_watch=1
        pg_cluster_start || return 1
        if [ -n "$_pg_cluster_external" ]; then
            printf 'export %s=%q\n' CROSSCHECK_TEST_PG_URL "$CROSSCHECK_TEST_PG_URL" \
                CROSSCHECK_TEST_PG_SUPERUSER_URL "$CROSSCHECK_TEST_PG_SUPERUSER_URL"
        else
            printf 'export %s=%q\n' CROSSCHECK_TEST_PG_URL "$CROSSCHECK_TEST_PG_URL" \
                CROSSCHECK_TEST_PG_SUPERUSER_URL "$CROSSCHECK_TEST_PG_SUPERUSER_URL"
            [ -z "${CROSSCHECK_TEST_PG_CA:-}" ] || printf 'export %s=%q\n' CROSSCHECK_TEST_PG_CA "$CROSSCHECK_TEST_PG_CA"
            printf 'PG_CLUSTER_DIR=%q\n' "$PG_CLUSTER_DIR"
            pg_cluster__say "left running; stop it with: $0 stop $PG_CLUSTER_DIR"
        fi
        ;;
    stop)
        if [ -z "${1:-${PG_CLUSTER_DIR:-}}" ]; then
            pg_cluster__say "usage: pg-cluster.sh stop DIR (or with PG_CLUSTER_DIR set)"
            return 2
        fi
        pg_cluster_stop "${1:-$PG_CLUSTER_DIR}"
        ;;
    *)
        pg_cluster__say "usage: pg-cluster.sh run [--] COMMAND [ARG...] | start | stop [DIR]" \
            "(or source it and call pg_cluster_start / pg_cluster_stop)"
        return 2
        ;;
    esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    pg_cluster__main "$@"
fi
