#!/usr/bin/env bash
# Make sure NATS (with JetStream), Redis and PostgreSQL answer on their standard local ports.
# A server already answering is used as it is; otherwise one is started from the installed binaries,
# installing them with apt-get first when they are missing (needs root, as on our dev and CI machines).
# Also creates the meridian databases. Idempotent; safe to run before every start and test run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE="$ROOT/.local"
mkdir -p "$STATE/log"

log() { printf '[infra] %s\n' "$*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&- 3<&-; }
wait_port() {
  for _ in $(seq 1 100); do port_open "$1" && return 0; sleep 0.1; done
  log "nothing answers on port $1 after 10 s"; return 1
}

APT_UPDATED=""
apt_install() {
  if [ "$(id -u)" != 0 ]; then log "missing $*; install it (apt-get install $*) or run as root"; exit 1; fi
  [ -n "$APT_UPDATED" ] || { log "apt-get update"; apt-get update -qq >/dev/null; APT_UPDATED=1; }
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_nats() {
  # The binary even when :4222 answers: `npm start` runs a nats-server of its own with accounts (deploy/run.mjs).
  command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || apt_install nats-server
  if port_open 4222; then log "nats: using the server on 127.0.0.1:4222"; return; fi
  local bin; bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  mkdir -p "$STATE/nats"
  log "nats: starting $bin with JetStream on 127.0.0.1:4222"
  nohup "$bin" -a 127.0.0.1 -p 4222 -js -sd "$STATE/nats" >"$STATE/log/nats.log" 2>&1 &
  wait_port 4222
}

ensure_redis() {
  if port_open 6379; then log "redis: using the server on 127.0.0.1:6379"; return; fi
  command -v redis-server >/dev/null || apt_install redis-server
  log "redis: starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$STATE" --logfile "$STATE/log/redis.log"
  wait_port 6379
}

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

ensure_postgres() {
  if ! port_open 5432; then
    [ -n "$(pg_bindir)" ] || apt_install postgresql
    if command -v pg_ctlcluster >/dev/null && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
      local version; version=$(ls /etc/postgresql | sort -V | tail -1)
      local hba="/etc/postgresql/$version/main/pg_hba.conf"
      # A fresh Debian cluster asks for passwords on TCP; a local dev/CI cluster trusts loopback, like ours.
      if [ -w "$hba" ] && ! grep -q '^# meridian: trust loopback' "$hba"; then
        log "postgres: trusting loopback connections in $hba"
        printf '# meridian: trust loopback\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' | cat - "$hba" >"$hba.new"
        mv "$hba.new" "$hba" && chown postgres "$hba" 2>/dev/null || true
      fi
      log "postgres: starting cluster $version/main"
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
      # If the package's own scripts had started it already, the trust lines need a reload.
      pg_ctlcluster --skip-systemctl-redirect "$version" main reload >/dev/null 2>&1 || true
    fi
    if ! port_open 5432; then
      # No system cluster: run our own, trust auth on loopback only, as the postgres user.
      local bin data="$STATE/pgdata"; bin=$(pg_bindir)
      if [ ! -d "$data" ]; then
        mkdir -p "$data" && chown postgres "$data" 2>/dev/null || true
        log "postgres: initdb in $data"
        su postgres -s /bin/sh -c "$bin/initdb -D '$data' -U postgres --auth=trust" >/dev/null
      fi
      log "postgres: starting $bin/postgres on 127.0.0.1:5432"
      su postgres -s /bin/sh -c "$bin/pg_ctl -D '$data' -l '$data/server.log' -o '-h 127.0.0.1 -p 5432 -k /tmp' start" >/dev/null
    fi
    wait_port 5432
  else
    log "postgres: using the server on 127.0.0.1:5432"
  fi
  command -v psql >/dev/null || apt_install postgresql-client
  for db in meridian meridian_test; do
    if ! psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='$db'" | grep -q 1; then
      log "postgres: creating database $db"
      psql -h 127.0.0.1 -U postgres -qc "create database $db" >/dev/null
    fi
  done
}

ensure_nats
ensure_redis
ensure_postgres
