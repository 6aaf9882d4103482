#!/usr/bin/env bash
# The one test command: infrastructure check, build, then every mocha suite against real servers.
# NATS: a private nats-server on a free port, so a running `npm start` stack on :4222 cannot answer
# the tests' requests. PostgreSQL: a fresh database for this run, dropped at the end, so concurrent runs
# (a developer and CI) never see each other's rows. Redis: the local server, unique key prefixes.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/infra.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npx tsc -b || true

NATS_BIN=$(command -v nats-server || echo /usr/sbin/nats-server)
NATS_DIR=$(mktemp -d)
NATS_PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
"$NATS_BIN" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$NATS_DIR" >"$NATS_DIR/nats.log" 2>&1 &
NATS_PID=$!
TEST_DB="meridian_test_$$_$(date +%s)"
psql -h 127.0.0.1 -U postgres -qc "create database $TEST_DB" >/dev/null
cleanup() {
  kill $NATS_PID 2>/dev/null || true
  wait $NATS_PID 2>/dev/null || true
  rm -rf "$NATS_DIR"
  psql -h 127.0.0.1 -U postgres -qc "drop database if exists $TEST_DB with (force)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null && break; sleep 0.1; done

export NATS_URL="nats://127.0.0.1:$NATS_PORT"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/$TEST_DB}"
export NATS_SERVER_BIN="$NATS_BIN"
# With no arguments every suite runs; pass compiled spec files to run some alone.
if [ $# -eq 0 ]; then
  set -- 'libs/*/dist/test/**/*.test.js' 'services/*/dist/test/**/*.test.js' 'tests/dist/**/*.test.js'
fi
npx mocha "$@"
