#!/usr/bin/env bash
# shellcheck shell=bash disable=SC2034  # MARIADB_CLUSTER_* are for the scripts that source this file
#
# A throwaway MariaDB server for tests (the MySQL-protocol tests), in the spirit of pg-cluster.sh.
#
# Sourced (scripts/test.sh):
#
#     source scripts/mariadb-cluster.sh
#     trap mariadb_cluster_stop EXIT                  # also runs on failure (set -e) ...
#     trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM   # ... and on interrupt
#     mariadb_cluster_start || exit 1
#     ...                 # CROSSCHECK_TEST_MYSQL_URL is exported
#     mariadb_cluster_stop  # optional: the EXIT trap does it
#
# Run directly:
#
#     scripts/mariadb-cluster.sh run [--] COMMAND [ARG...]    start, run COMMAND, stop (exit: COMMAND's)
#     eval "$(scripts/mariadb-cluster.sh start)"              start and leave running (for iterating on
#                                                             tests: scripts/test.sh then uses its URL)
#     scripts/mariadb-cluster.sh stop "$MARIADB_CLUSTER_DIR"  stop that one and remove its directory
#
# mariadb_cluster_start:
# * If CROSSCHECK_TEST_MYSQL_URL is set, it is used as is and nothing is started.
# * Otherwise it finds mariadbd (or mysqld, which must be MariaDB), mariadb-install-db (or
#   mysql_install_db), mariadb-admin and mariadb on PATH or in /usr/sbin, /usr/bin, installing
#   Debian's `mariadb-server` package with apt-get when they are missing and we are root. A system
#   server that the package may have started is left alone and never used (no systemctl, no
#   service, no /etc/mysql: every server and client here runs with --no-defaults).
# * The data directory is made by mariadb-install-db in a temp dir of its own; the server listens on
#   a free port on 127.0.0.1 and on a unix socket in that dir, with MariaDB's usual utf8mb4 defaults
#   and durability off (no doublewrite, no log flush at commit, no binary log). As root the server
#   runs as `mysql` (or a dedicated `crosscheck-my` system user, created when `mysql` does not
#   exist), never as root.
# * Accounts: only root@localhost without a password, reachable over the unix socket alone (its
#   directory is private to the server's user); install-db's root@127.0.0.1, root@::1 and
#   root@HOSTNAME are removed before the server first listens on TCP. The user `crosscheck`, at
#   127.0.0.1 and at localhost, gets a random per-run password (mysql_native_password) and ALL
#   PRIVILEGES ON *.* WITH GRANT OPTION (the tests create databases). The database
#   `crosscheck_test` is created, and
#       CROSSCHECK_TEST_MYSQL_URL=mysql://crosscheck:PASSWORD@127.0.0.1:PORT/crosscheck_test
#   is exported. The server speaks TLS with a certificate (SAN localhost, 127.0.0.1) of a CA
#   made for the run, whose certificate's path is exported as CROSSCHECK_TEST_MYSQL_CA (not
#   set when openssl is missing).
# * Also set (not exported): MARIADB_CLUSTER_DIR, MARIADB_CLUSTER_PORT, MARIADB_CLUSTER_SOCKET,
#   MARIADB_CLUSTER_PASSWORD, MARIADB_CLUSTER_USER, MARIADB_CLUSTER_VERSION, MARIADB_CLUSTER_OWNER.
# * It waits at most 60 s for the server; it returns non-zero with a message on stderr (and the
#   server's error log) when no server can be had, and then cleans up what it made. One line on
#   stderr says what it did.
# * Besides the caller's EXIT trap, a detached watcher process stops the server if the calling
#   shell dies without running its traps (SIGKILL, e.g. a CI timeout killing the process group).
#
# Helper once started: mariadb_cluster_url [DB] (the TCP URL of a database of the temp server).
#
# Works with or without `set -euo pipefail` in the caller.

MARIADB_CLUSTER_ROLE=crosscheck
MARIADB_CLUSTER_DATABASE=crosscheck_test
# What this shell started (never exported, so never inherited from a parent's server): the temp
# server's directory or 1 when CROSSCHECK_TEST_MYSQL_URL was used as is, and the watcher's PID.
_mariadb_cluster_dir=${_mariadb_cluster_dir:-}
_mariadb_cluster_external=${_mariadb_cluster_external:-}
_mariadb_cluster_watcher=${_mariadb_cluster_watcher:-}
_mariadb_cluster_no_watch=${_mariadb_cluster_no_watch:-}
_mariadb_cluster_launcher=${_mariadb_cluster_launcher:-}
_mariadb_cluster_self=$(readlink -f "${BASH_SOURCE[0]}")

mariadb_cluster__say() { printf 'mariadb-cluster: %s\n' "$*" >&2; }

# The full path of the first of the programs named that exists, on PATH or in the usual sbin/bin
# directories (a non-root PATH often lacks /usr/sbin, where mariadbd lives).
mariadb_cluster__find_tool() {
    local name path
    for name in "$@"; do
        if path=$(PATH="${PATH:-}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
            command -v "$name" 2>/dev/null) && [ -x "$path" ]; then
            printf '%s\n' "$path"
            return 0
        fi
    done
    return 1
}

# Sets _mariadb_cluster_{server,install,admin,client} and MARIADB_CLUSTER_VERSION; fails (quietly)
# when one is missing or the server is not MariaDB.
mariadb_cluster__find_tools() {
    local out
    _mariadb_cluster_server=$(mariadb_cluster__find_tool mariadbd mysqld) &&
        _mariadb_cluster_install=$(mariadb_cluster__find_tool mariadb-install-db mysql_install_db) &&
        _mariadb_cluster_admin=$(mariadb_cluster__find_tool mariadb-admin mysqladmin) &&
        _mariadb_cluster_client=$(mariadb_cluster__find_tool mariadb mysql) || return 1
    # "mariadbd  Ver 10.11.14-MariaDB-0+deb12u2 for debian-linux-gnu on x86_64 (Debian 12)"
    out=$("$_mariadb_cluster_server" --no-defaults --version 2>/dev/null) || return 1
    case $out in
    *Ver\ *-MariaDB*) ;;
    *)
        mariadb_cluster__say "$_mariadb_cluster_server is not MariaDB ($out)"
        return 1
        ;;
    esac
    out=${out#*Ver }
    MARIADB_CLUSTER_VERSION=${out%%-*}
}

mariadb_cluster__install() {
    if [ "$(id -u)" -ne 0 ]; then
        mariadb_cluster__say "MariaDB server programs (mariadbd, mariadb-install-db, mariadb-admin," \
            "mariadb) not found. Install them (Debian: sudo apt-get install mariadb-server)," \
            "or set CROSSCHECK_TEST_MYSQL_URL to an existing server."
        return 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        mariadb_cluster__say "MariaDB server programs not found and apt-get is not available:" \
            "install MariaDB, or set CROSSCHECK_TEST_MYSQL_URL."
        return 1
    fi
    mariadb_cluster__say "MariaDB server programs not found: installing them (apt-get install mariadb-server)"
    # The package's post-install may start a system server (port 3306, /run/mysqld): we leave it
    # alone and never use it.
    if ! DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
        ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mariadb-server >&2; then
        mariadb_cluster__say "apt-get install mariadb-server failed"
        return 1
    fi
}

# Sets MARIADB_CLUSTER_OWNER: empty when not root (run as ourselves), else `mysql` or a dedicated
# system user created on the spot.
mariadb_cluster__pick_owner() {
    MARIADB_CLUSTER_OWNER=''
    [ "$(id -u)" -eq 0 ] || return 0
    if id -u mysql >/dev/null 2>&1; then
        MARIADB_CLUSTER_OWNER=mysql
    elif id -u crosscheck-my >/dev/null 2>&1; then
        MARIADB_CLUSTER_OWNER=crosscheck-my
    elif useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin crosscheck-my >/dev/null 2>&1; then
        MARIADB_CLUSTER_OWNER=crosscheck-my
    else
        mariadb_cluster__say "running as root and there is no mysql user; could not create user crosscheck-my"
        return 1
    fi
}

mariadb_cluster__port_busy() {
    if command -v ss >/dev/null 2>&1; then
        [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# A random port that nothing listens on, outside the kernel's ephemeral range.
mariadb_cluster__pick_port() {
    local eph_lo=32768 eph_hi=60999 lo hi port
    read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
    if [ "$eph_lo" -gt 16000 ]; then
        lo=15000 hi=$((eph_lo - 1))
    else
        lo=$((eph_hi + 1)) hi=65535
    fi
    if [ $((hi - lo)) -lt 100 ]; then lo=15000 hi=65000; fi
    for _ in $(seq 1 100); do
        port=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
        if ! mariadb_cluster__port_busy "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    return 1
}

# The PIDs of the server of directory $1: processes whose command line has its --datadir (a zombie
# has an empty command line, so it does not count).
mariadb_cluster__server_pids() {
    local p
    local -a args
    for p in /proc/[0-9]*; do
        args=()
        { mapfile -t -d '' args <"$p/cmdline"; } 2>/dev/null || continue
        case " ${args[*]} " in *" --datadir=$1/data "*) printf '%s\n' "${p#/proc/}" ;; esac
    done
}

# A client as MariaDB root over the unix socket of directory $1 (no option files, no history).
mariadb_cluster__root_sql() {
    local dir=$1
    shift
    "$_mariadb_cluster_client" --no-defaults --protocol=socket --socket="$dir/run/mysqld.sock" \
        --user=root --connect-timeout=10 --batch --skip-column-names "$@"
}

# A detached process that stops the server if this shell dies without running its EXIT trap
# (SIGKILL, e.g. from a timeout killing the whole process group). It holds none of our file
# descriptors, so nothing waiting for our output waits for it; mariadb_cluster_stop ends it.
mariadb_cluster__start_watcher() {
    [ -z "$_mariadb_cluster_no_watch" ] && command -v setsid >/dev/null 2>&1 || return 0
    # shellcheck disable=SC2016
    setsid bash -c '
        for fd in /proc/$$/fd/*; do
            fd=${fd##*/}
            case $fd in 0 | 1 | 2 | *[!0-9]*) ;; *) eval "exec $fd>&-" ;; esac
        done
        while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done
        if [ -d "$2" ]; then source "$3" && mariadb_cluster_stop "$2"; fi
    ' mariadb-cluster-watch "$$" "$MARIADB_CLUSTER_DIR" "$_mariadb_cluster_self" </dev/null >/dev/null 2>&1 &
    _mariadb_cluster_watcher=$!
}

mariadb_cluster_url() {
    if [ -z "${MARIADB_CLUSTER_PORT:-}" ]; then
        mariadb_cluster__say "mariadb_cluster_url: no temp server running"
        return 1
    fi
    printf 'mysql://%s:%s@127.0.0.1:%s/%s\n' "$MARIADB_CLUSTER_USER" "$MARIADB_CLUSTER_PASSWORD" \
        "$MARIADB_CLUSTER_PORT" "${1:-$MARIADB_CLUSTER_DATABASE}"
}

mariadb_cluster_start() {
    if [ -n "${CROSSCHECK_TEST_MYSQL_URL:-}" ]; then
        export CROSSCHECK_TEST_MYSQL_URL
        _mariadb_cluster_external=1
        mariadb_cluster__say "using the MariaDB/MySQL server of CROSSCHECK_TEST_MYSQL_URL (no temp server started)"
        return 0
    fi
    if [ -n "$_mariadb_cluster_dir" ]; then
        mariadb_cluster__say "a temp server is already running in $_mariadb_cluster_dir"
        return 1
    fi
    if ! mariadb_cluster__start_temp; then
        mariadb_cluster_stop
        return 1
    fi
}

# A CA and a server certificate signed by it (CN localhost, SAN localhost and 127.0.0.1): the
# server's pair in its data directory, the CA certificate in $1/tls for the TLS tests.
mariadb_cluster__make_certs() {
    local dir=$1 data=$2 tls=$1/tls
    command -v openssl >/dev/null 2>&1 || return 1
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
    cp "$tls/server.crt" "$tls/server.key" "$data/" && chmod 0600 "$data/server.key" || return 1
    [ -z "$MARIADB_CLUSTER_OWNER" ] ||
        chown "$MARIADB_CLUSTER_OWNER:" "$data/server.crt" "$data/server.key" || return 1
    rm -f "$tls/ca.key" "$tls/server.key"
}

mariadb_cluster__start_temp() {
    local parent dir data run log socket password port started='' launcher='' deadline
    MARIADB_CLUSTER_PORT='' MARIADB_CLUSTER_DIR='' MARIADB_CLUSTER_SOCKET='' MARIADB_CLUSTER_PASSWORD=''
    MARIADB_CLUSTER_OWNER='' MARIADB_CLUSTER_VERSION='' MARIADB_CLUSTER_USER=''
    _mariadb_cluster_server='' _mariadb_cluster_install='' _mariadb_cluster_admin='' _mariadb_cluster_client=''
    mariadb_cluster__find_tools ||
        { mariadb_cluster__install && mariadb_cluster__find_tools; } ||
        {
            mariadb_cluster__say "no usable MariaDB server programs (mariadbd, mariadb-install-db," \
                "mariadb-admin, mariadb)"
            return 1
        }
    mariadb_cluster__pick_owner || return 1

    # The directory and everything in it belong to us (root or the caller); only data/, run/ (socket
    # and PID file) and log/ belong to the server's user, which needs to traverse the directory
    # (0711) but not write it. run/ is 0700: the passwordless root@localhost is reachable only by
    # the server's user and root. $TMPDIR may be unreachable for that user (e.g. /root/tmp) or too
    # long for a unix socket path (107 bytes): then use /tmp.
    for parent in "${TMPDIR:-/tmp}" /tmp; do
        parent=${parent%/}
        case $parent in /?*) ;; *) parent=/tmp ;; esac
        dir=$(mktemp -d "$parent/crosscheck-my.XXXXXX") || return 1
        _mariadb_cluster_dir=$dir MARIADB_CLUSTER_DIR=$dir
        data=$dir/data run=$dir/run log=$dir/log socket=$dir/run/mysqld.sock
        if mkdir -m 0700 "$data" "$run" "$log" && chmod 0711 "$dir" &&
            { [ -z "$MARIADB_CLUSTER_OWNER" ] || chown "$MARIADB_CLUSTER_OWNER:" "$data" "$run" "$log"; } &&
            [ ${#socket} -le 100 ] &&
            if [ -n "$MARIADB_CLUSTER_OWNER" ] && command -v runuser >/dev/null 2>&1; then
                (cd / && runuser -u "$MARIADB_CLUSTER_OWNER" -- test -w "$data" -a -w "$run" -a -w "$log") 2>/dev/null
            fi; then
            break
        fi
        rm -rf -- "$dir"
        _mariadb_cluster_dir='' MARIADB_CLUSTER_DIR=''
        if [ "$parent" = /tmp ]; then
            mariadb_cluster__say "cannot make a temp dir usable by ${MARIADB_CLUSTER_OWNER:-$(id -un)} under /tmp"
            return 1
        fi
    done
    MARIADB_CLUSTER_SOCKET=$socket
    MARIADB_CLUSTER_USER=$MARIADB_CLUSTER_ROLE
    # State for `mariadb-cluster.sh stop DIR` (from another shell); the directory is ours.
    printf 'admin=%s\n' "$_mariadb_cluster_admin" >"$dir/cluster.state" || return 1
    mariadb_cluster__start_watcher

    password=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n') || password=''
    if [ ${#password} -ne 48 ]; then
        mariadb_cluster__say "cannot generate a password from /dev/urandom"
        return 1
    fi
    MARIADB_CLUSTER_PASSWORD=$password

    # Options for the bootstrap run and the server alike (install-db passes unknown ones on).
    local -a fast=(--innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --skip-log-bin
        --innodb-buffer-pool-size=128M --skip-name-resolve
        --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci)
    local -a as_user=()
    [ -z "$MARIADB_CLUSTER_OWNER" ] || as_user=(--user="$MARIADB_CLUSTER_OWNER")

    # install-db's root@127.0.0.1 / root@::1 / root@HOSTNAME have no password and would answer on
    # TCP: remove them in the bootstrap, before the server ever listens. (Grant-table statements do
    # not run in bootstrap mode, so this is plain DML; the accounts are made once it runs.)
    cat >"$dir/bootstrap.sql" <<'EOF' || return 1
DELETE FROM mysql.global_priv WHERE NOT (User IN ('root', 'mariadb.sys') AND Host = 'localhost');
DELETE FROM mysql.proxies_priv WHERE NOT (User = 'root' AND Host = 'localhost');
EOF
    chmod 0644 "$dir/bootstrap.sql" || return 1
    if ! (cd / && exec "$_mariadb_cluster_install" --no-defaults "${as_user[@]}" --datadir="$data" \
        --auth-root-authentication-method=normal --skip-test-db --extra-file="$dir/bootstrap.sql" \
        "${fast[@]}") >"$dir/install-db.log" 2>&1; then
        mariadb_cluster__say "mariadb-install-db failed:"
        tail -n 20 "$dir/install-db.log" >&2
        return 1
    fi

    # TLS with a certificate of our own CA, so that the client's verify modes are tested for real;
    # without openssl the server runs without TLS and the TLS test says so.
    local -a tls=()
    MARIADB_CLUSTER_CA=''
    if mariadb_cluster__make_certs "$dir" "$data"; then
        tls=(--ssl-ca="$dir/tls/ca.crt" --ssl-cert="$data/server.crt" --ssl-key="$data/server.key")
        MARIADB_CLUSTER_CA=$dir/tls/ca.crt
    else
        mariadb_cluster__say "no TLS (openssl missing or failed): the TLS test will not run"
    fi

    for _ in 1 2 3 4 5 6 7 8; do
        port=$(mariadb_cluster__pick_port) || {
            mariadb_cluster__say "no free TCP port found"
            return 1
        }
        : >"$log/error.log" || return 1
        [ -z "$MARIADB_CLUSTER_OWNER" ] || chown "$MARIADB_CLUSTER_OWNER:" "$log/error.log" || return 1
        # In its own session (a terminal's ^C is for the caller, whose trap stops the server), with
        # none of our file descriptors (nothing waiting on our output waits for the server). With
        # setsid -w the launcher lives exactly as long as the server, whether or not setsid forks.
        # shellcheck disable=SC2016
        (cd / && exec bash -c '
            for fd in /proc/$$/fd/*; do
                fd=${fd##*/}
                case $fd in 0 | 1 | 2 | *[!0-9]*) ;; *) eval "exec $fd>&-" ;; esac
            done
            if command -v setsid >/dev/null 2>&1; then exec setsid -w "$@"; else exec "$@"; fi
        ' mariadb-cluster-server "$_mariadb_cluster_server" --no-defaults "${as_user[@]}" \
            --datadir="$data" --socket="$socket" --port="$port" --bind-address=127.0.0.1 \
            --skip-networking=0 --pid-file="$run/mysqld.pid" --log-error="$log/error.log" \
            "${fast[@]}" "${tls[@]}") </dev/null >/dev/null 2>"$dir/server.stderr" &
        launcher=$! _mariadb_cluster_launcher=$!
        deadline=$((SECONDS + 60))
        while :; do
            if "$_mariadb_cluster_admin" --no-defaults --protocol=socket --socket="$socket" --user=root \
                --connect-timeout=2 ping >/dev/null 2>&1; then
                started=1
                break
            fi
            kill -0 "$launcher" 2>/dev/null || break
            [ "$SECONDS" -lt "$deadline" ] || break
            sleep 0.1
        done
        [ -z "$started" ] || break
        if kill -0 "$launcher" 2>/dev/null; then
            mariadb_cluster__say "the MariaDB server was not ready within 60 s"
            break
        fi
        wait "$launcher" 2>/dev/null || true
        _mariadb_cluster_launcher=
        # Someone took the port between our check and the bind: try another one.
        grep -q -e 'Bind on TCP/IP port' -e 'Address already in use' "$log/error.log" 2>/dev/null || break
    done
    if [ -z "$started" ]; then
        mariadb_cluster__say "the MariaDB server did not start:"
        tail -n 20 "$dir/server.stderr" "$log/error.log" >&2
        return 1
    fi
    MARIADB_CLUSTER_PORT=$port

    local account accounts=''
    for account in "'$MARIADB_CLUSTER_ROLE'@'127.0.0.1'" "'$MARIADB_CLUSTER_ROLE'@'localhost'"; do
        accounts+="CREATE USER $account IDENTIFIED VIA mysql_native_password USING PASSWORD('$password');
GRANT ALL PRIVILEGES ON *.* TO $account WITH GRANT OPTION;
"
    done
    # On stdin, never on a command line: the password.
    if ! (mariadb_cluster__root_sql "$dir") >&2 <<EOF; then
$accounts
CREATE DATABASE $MARIADB_CLUSTER_DATABASE;
EOF
        mariadb_cluster__say "cannot create the account $MARIADB_CLUSTER_ROLE or the database $MARIADB_CLUSTER_DATABASE"
        return 1
    fi
    export CROSSCHECK_TEST_MYSQL_URL
    CROSSCHECK_TEST_MYSQL_URL=$(mariadb_cluster_url "$MARIADB_CLUSTER_DATABASE") || return 1
    if [ -n "$MARIADB_CLUSTER_CA" ]; then
        export CROSSCHECK_TEST_MYSQL_CA=$MARIADB_CLUSTER_CA
    fi
    # Check the exported account itself: TCP, password authentication (the password in a client
    # option file of ours, not on a command line).
    printf '[client]\nuser=%s\npassword=%s\n' "$MARIADB_CLUSTER_ROLE" "$password" >"$dir/client.cnf" &&
        chmod 0600 "$dir/client.cnf" || return 1
    if ! ("$_mariadb_cluster_client" --defaults-file="$dir/client.cnf" --protocol=tcp --host=127.0.0.1 \
        --port="$port" --connect-timeout=10 --batch --skip-column-names \
        -e 'SELECT 1' "$MARIADB_CLUSTER_DATABASE") >/dev/null; then
        mariadb_cluster__say "cannot connect as $MARIADB_CLUSTER_ROLE with the password over TCP"
        return 1
    fi
    mariadb_cluster__say "started MariaDB $MARIADB_CLUSTER_VERSION on 127.0.0.1:$port (temp server in" \
        "$dir, running as ${MARIADB_CLUSTER_OWNER:-$(id -un)})"
}

# Stops the temp server this shell started (or the one in directory $1) and removes its
# directory. Never fails and never exits: safe in an EXIT trap, with or without set -e.
mariadb_cluster_stop() {
    local dir=${1:-$_mariadb_cluster_dir} admin=${_mariadb_cluster_admin:-} line pids n mine=''
    if [ -z "${1:-}" ] && [ -n "$_mariadb_cluster_external" ]; then
        _mariadb_cluster_external=
        return 0
    fi
    [ -n "$dir" ] || return 0
    if [ "$dir" = "$_mariadb_cluster_dir" ]; then
        mine=1
    else
        admin=''
        if [ ! -d "$dir" ]; then
            mariadb_cluster__say "no temp server in $dir"
            return 0
        fi
    fi
    case $dir in
    */crosscheck-my.*) ;;
    *)
        mariadb_cluster__say "refusing to remove $dir: not a crosscheck temp MariaDB directory"
        return 0
        ;;
    esac
    if [ -n "$mine" ] && [ -n "$_mariadb_cluster_watcher" ]; then
        kill "$_mariadb_cluster_watcher" 2>/dev/null || true
        _mariadb_cluster_watcher=
    fi
    if [ -z "$admin" ] && [ -f "$dir/cluster.state" ]; then
        while IFS= read -r line; do
            case $line in admin=*) admin=${line#admin=} ;; esac
        done <"$dir/cluster.state"
    fi
    pids=$(mariadb_cluster__server_pids "$dir")
    if [ -n "$pids" ]; then
        # A clean shutdown over the socket (as MariaDB root); mariadb-admin waits for it, bounded.
        if [ -n "$admin" ] && [ -S "$dir/run/mysqld.sock" ]; then
            if command -v timeout >/dev/null 2>&1; then
                timeout 40 "$admin" --no-defaults --protocol=socket --socket="$dir/run/mysqld.sock" \
                    --user=root --connect-timeout=5 --shutdown-timeout=30 shutdown >/dev/null 2>&1 || true
            else
                "$admin" --no-defaults --protocol=socket --socket="$dir/run/mysqld.sock" \
                    --user=root --connect-timeout=5 --shutdown-timeout=30 shutdown >/dev/null 2>&1 || true
            fi
        fi
        # Fallback: signals, to that directory's server only (found by its --datadir): TERM (a
        # clean shutdown) after 5 s, KILL after 10 s more.
        for line in TERM KILL -; do
            n=50
            [ "$line" != KILL ] || n=100
            for _ in $(seq 1 "$n"); do
                pids=$(mariadb_cluster__server_pids "$dir")
                [ -n "$pids" ] || break 2
                sleep 0.1
            done
            [ "$line" != - ] || break
            # shellcheck disable=SC2086  # a list of PIDs
            kill -"$line" $pids 2>/dev/null || true
        done
    fi
    # Reap the server's launcher if it is our child, so no zombie outlives the stop.
    if [ -n "$mine" ] && [ -n "$_mariadb_cluster_launcher" ]; then
        wait "$_mariadb_cluster_launcher" 2>/dev/null || true
        _mariadb_cluster_launcher=
    fi
    rm -rf -- "$dir" 2>/dev/null || rm -rf -- "$dir" || true
    if [ -n "$mine" ]; then
        if [ -n "${MARIADB_CLUSTER_PORT:-}" ]; then
            mariadb_cluster__say "stopped the temp server on port $MARIADB_CLUSTER_PORT and removed $dir"
            unset CROSSCHECK_TEST_MYSQL_URL
        else
            mariadb_cluster__say "removed $dir"
        fi
        _mariadb_cluster_dir='' MARIADB_CLUSTER_DIR='' MARIADB_CLUSTER_PORT='' MARIADB_CLUSTER_PASSWORD=''
        MARIADB_CLUSTER_SOCKET='' MARIADB_CLUSTER_OWNER='' MARIADB_CLUSTER_VERSION='' MARIADB_CLUSTER_USER=''
    else
        mariadb_cluster__say "stopped the temp server in $dir and removed it"
    fi
    return 0
}

mariadb_cluster__main() {
    local cmd=${1:-}
    shift || true
    case $cmd in
    run)
        [ "${1:-}" != -- ] || shift
        if [ $# -eq 0 ]; then
            mariadb_cluster__say "usage: mariadb-cluster.sh run [--] COMMAND [ARG...]"
            return 2
        fi
        trap mariadb_cluster_stop EXIT
        trap 'exit 129' HUP
        trap 'exit 130' INT
        trap 'exit 143' TERM
        mariadb_cluster_start || exit 1
        "$@"
        ;;
    start)
        _mariadb_cluster_no_watch=1
        mariadb_cluster_start || return 1
        printf 'export %s=%q\n' CROSSCHECK_TEST_MYSQL_URL "$CROSSCHECK_TEST_MYSQL_URL"
        [ -z "${CROSSCHECK_TEST_MYSQL_CA:-}" ] ||
            printf 'export %s=%q\n' CROSSCHECK_TEST_MYSQL_CA "$CROSSCHECK_TEST_MYSQL_CA"
        if [ -z "$_mariadb_cluster_external" ]; then
            printf 'MARIADB_CLUSTER_DIR=%q\n' "$MARIADB_CLUSTER_DIR"
            mariadb_cluster__say "left running; stop it with: $0 stop $MARIADB_CLUSTER_DIR"
        fi
        ;;
    stop)
        if [ -z "${1:-${MARIADB_CLUSTER_DIR:-}}" ]; then
            mariadb_cluster__say "usage: mariadb-cluster.sh stop DIR (or with MARIADB_CLUSTER_DIR set)"
            return 2
        fi
        mariadb_cluster_stop "${1:-$MARIADB_CLUSTER_DIR}"
        ;;
    *)
        mariadb_cluster__say "usage: mariadb-cluster.sh run [--] COMMAND [ARG...] | start | stop [DIR]" \
            "(or source it and call mariadb_cluster_start / mariadb_cluster_stop)"
        return 2
        ;;
    esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    mariadb_cluster__main "$@"
fi
