#!/usr/bin/env bash
# A throwaway MySQL server for the MySQL run of the MySQL-protocol tests (the same tests run
# against MariaDB first, see mariadb-cluster.sh).
#
#     eval "$(scripts/mysql-cluster.sh start)"        start; exports CROSSCHECK_TEST_MYSQL_URL,
#                                                     CROSSCHECK_TEST_MYSQL_CA, MYSQL_CLUSTER_DIR
#     scripts/mysql-cluster.sh stop "$MYSQL_CLUSTER_DIR"
#
# Debian 12 ships MariaDB only. Debian's own MySQL (package mysql-server-core, from `sid`, the
# only suite that has it) is built for a newer C library than Debian 12's, so it is unpacked
# with every library it needs, from the same suite, into a folder of its own (never installed:
# nothing of the system changes) and run through that folder's dynamic loader. The packages are
# resolved from sid's index and cached in $CROSSCHECK_MYSQL_CACHE (default
# ~/.cache/crosscheck-mysql, or /var/cache/crosscheck-mysql as root, where the server's user
# can read it); needs curl, gzip and dpkg-deb.
#
# The server gets a data directory of its own in a temp dir, listens on a free port on
# 127.0.0.1 only, runs as `mysql` (or `nobody`) when started as root, with TLS from a CA made
# for the run (server certificate for localhost and 127.0.0.1). The account `crosscheck` has
# a random password and every privilege; root has no password but listens on the socket only.
set -euo pipefail

say() { printf 'mysql-cluster: %s\n' "$*" >&2; }
mirror=${CROSSCHECK_MYSQL_MIRROR:-http://deb.debian.org/debian}
# As root the server runs as another user, who must reach the unpacked files: not under /root.
if [ "$(id -u)" -eq 0 ]; then default_cache=/var/cache/crosscheck-mysql; else default_cache=${HOME:-/tmp}/.cache/crosscheck-mysql; fi
cache=${CROSSCHECK_MYSQL_CACHE:-$default_cache}

# Unpacks mysql-server-core, mysql-client-core and their dependencies (recursively, first
# alternative) into $cache/root.
fetch() {
    [ -x "$cache/root/usr/sbin/mysqld" ] && return 0
    mkdir -p "$cache/debs"
    say "fetching Debian's MySQL (sid) and its libraries into $cache"
    curl -fsS "$mirror/dists/sid/main/binary-amd64/Packages.gz" | gzip -dc >"$cache/Packages"
    awk '
        /^Package: / { name = $2 }
        /^Filename: / { file[name] = $2 }
        /^(Depends|Pre-Depends): / { sub(/^[^:]*: /, ""); deps[name] = deps[name] "," $0 }
        /^Provides: / {
            sub(/^Provides: /, ""); n = split($0, p, ",")
            for (i = 1; i <= n; i++) { split(p[i], w, " "); if (!(w[1] in provider)) provider[w[1]] = name }
        }
        END {
            skip["perl"]; skip["perl-base"]; skip["debconf"]; skip["dpkg"]; skip["passwd"]
            skip["adduser"]; skip["systemd"]; skip["mysql-common"]; skip["psmisc"]; skip["iproute2"]
            skip["debconf-2.0"]; skip["init-system-helpers"]; skip["tzdata"]; skip["libc-bin"]
            todo[1] = "mysql-server-core"; todo[2] = "mysql-client-core"; n = 2
            while (n > 0) {
                pkg = todo[n--]; sub(/:.*/, "", pkg)
                if (!(pkg in file) && (pkg in provider)) pkg = provider[pkg]
                if (pkg in seen || pkg in skip || !(pkg in file)) continue
                seen[pkg]; print file[pkg]
                m = split(deps[pkg], d, ",")
                for (i = 1; i <= m; i++) {
                    alt = d[i]; sub(/\|.*/, "", alt); gsub(/^ +/, "", alt); split(alt, w, " ")
                    if (w[1] != "") todo[++n] = w[1]
                }
            }
        }' "$cache/Packages" >"$cache/files"
    while read -r file; do
        [ -s "$cache/debs/${file##*/}" ] || curl -fsS -o "$cache/debs/${file##*/}" "$mirror/$file"
    done <"$cache/files"
    rm -rf "$cache/root.new" && mkdir -p "$cache/root.new"
    for deb in "$cache"/debs/*.deb; do dpkg-deb -x "$deb" "$cache/root.new"; done
    rm -rf "$cache/root" && mv "$cache/root.new" "$cache/root"
    chmod a+rx "$cache" && chmod -R a+rX "$cache/root"
}

free_port() {
    local port
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 20000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
    done
    return 1
}

start() {
    fetch
    local root=$cache/root lib dir port password owner=''
    lib=$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu
    local run=("$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$lib")
    dir=$(mktemp -d /tmp/crosscheck-mysql.XXXXXX)
    chmod 0755 "$dir"
    mkdir -p "$dir/data" "$dir/run" "$dir/tls"
    if [ "$(id -u)" -eq 0 ]; then
        owner=$(id -u mysql >/dev/null 2>&1 && echo mysql || echo nobody)
        chown -R "$owner:" "$dir/data" "$dir/run"
        chmod 0700 "$dir/run"
    fi
    as_owner() { if [ -n "$owner" ]; then su "$owner" -s /bin/bash -c "$(printf '%q ' "$@")"; else "$@"; fi; }
    local server=("${run[@]}" "$root/usr/sbin/mysqld" --no-defaults --datadir="$dir/data"
        --basedir="$root/usr" --lc-messages-dir="$root/usr/share/mysql"
        --plugin-dir="$root/usr/lib/mysql/plugin")
    as_owner "${server[@]}" --initialize-insecure >"$dir/init.log" 2>&1 ||
        { say "mysqld --initialize failed: $(tail -3 "$dir/init.log")"; return 1; }
    # TLS from a CA of the run: the tests verify the certificate and its name.
    (
        cd "$dir/tls"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=crosscheck test CA" \
            -keyout ca.key -out ca.crt &&
            openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr &&
            printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "extendedKeyUsage=serverAuth" >server.ext &&
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile server.ext -out server.crt
    ) >"$dir/tls.log" 2>&1 || { say "openssl failed: $(tail -3 "$dir/tls.log")"; return 1; }
    cp "$dir/tls/server.crt" "$dir/tls/server.key" "$dir/data/"
    [ -z "$owner" ] || chown "$owner:" "$dir/data/server.crt" "$dir/data/server.key"
    chmod 0644 "$dir/tls/ca.crt"
    port=$(free_port)
    as_owner "${server[@]}" --port="$port" --bind-address=127.0.0.1 --mysqlx=OFF \
        --socket="$dir/run/mysqld.sock" --pid-file="$dir/run/mysqld.pid" --log-error="$dir/run/error.log" \
        --secure-file-priv=NULL --innodb-buffer-pool-size=128M --skip-log-bin \
        --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=OFF \
        --ssl-ca="$dir/tls/ca.crt" --ssl-cert="$dir/data/server.crt" --ssl-key="$dir/data/server.key" \
        </dev/null >/dev/null 2>&1 &
    local client=("${run[@]}" "$root/usr/bin/mysql" --no-defaults --socket="$dir/run/mysqld.sock" -uroot)
    for _ in $(seq 120); do
        "${client[@]}" -e 'SELECT 1' >/dev/null 2>&1 && break
        sleep 0.5
    done
    password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
    "${client[@]}" -e "CREATE USER 'crosscheck'@'127.0.0.1' IDENTIFIED BY '$password';
        GRANT ALL PRIVILEGES ON *.* TO 'crosscheck'@'127.0.0.1' WITH GRANT OPTION;
        CREATE DATABASE crosscheck_test CHARACTER SET utf8mb4;" ||
        { say "the server did not start: $(tail -5 "$dir/run/error.log")"; return 1; }
    say "started MySQL $("${client[@]}" -N -e 'SELECT VERSION()') on 127.0.0.1:$port (temp server in $dir${owner:+, running as $owner})"
    printf 'export CROSSCHECK_TEST_MYSQL_URL=mysql://crosscheck:%s@127.0.0.1:%s/crosscheck_test\n' "$password" "$port"
    printf 'export CROSSCHECK_TEST_MYSQL_CA=%s\n' "$dir/tls/ca.crt"
    printf 'MYSQL_CLUSTER_DIR=%s\n' "$dir"
}

stop() {
    local dir=${1:?the directory start printed}
    [ -d "$dir" ] || return 0
    if [ -s "$dir/run/mysqld.pid" ]; then
        local pid
        pid=$(cat "$dir/run/mysqld.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
    say "stopped the temp server and removed $dir"
}

case ${1:-} in
start) start ;;
stop) stop "${2:-}" ;;
*) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
