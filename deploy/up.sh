#!/usr/bin/env bash
# `npm start`: install, build, make sure NATS/Redis/PostgreSQL answer, migrate, start every service.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[up] npm ci"
  npm ci --no-audit --no-fund
fi
bash deploy/infra.sh
echo "[up] building"
npm run build --silent
exec node deploy/run.mjs
