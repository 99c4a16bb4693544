#!/usr/bin/env bash
# What docs/DEPLOYMENT.md promises an operator, done as one would on a server:
# a clean clone of the committed tree, `npm ci --omit=dev` (no development
# dependency installed), a production start on PostgreSQL with the documented
# settings, a first admin from the command line, one request with its key, and
# SIGTERM to `npm start` stopping the server with exit code 0 and no process left.
#
# Usage: scripts/check-production-install.sh   (run by .ci/run; needs git, psql's
# createdb/dropdb and the PostgreSQL on PGHOST:PGPORT, default 127.0.0.1:5432)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
WORK="$(mktemp -d)"
DB="consentql_production_check_$$"
SERVER_PID=""

cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
  dropdb -h "$PGHOST" -p "$PGPORT" -U postgres --if-exists "$DB" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "production install check FAILED: $*" >&2
  [[ -f "$WORK/server.log" ]] && { echo "--- server log"; tail -40 "$WORK/server.log"; } >&2
  exit 1
}

echo "== clean clone of $(git -C "$ROOT" rev-parse --short HEAD)"
git clone -q "$ROOT" "$WORK/consentql"
cd "$WORK/consentql"

echo "== npm ci --omit=dev"
npm ci --omit=dev --no-audit --no-fund >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; fail "npm ci --omit=dev"; }
for dev in vitest fast-check playwright-core @graphql-codegen/cli @biomejs/biome; do
  [[ ! -e "node_modules/$dev" ]] || fail "development dependency $dev was installed"
done
NODE="node_modules/.bin/node"
[[ "$("$NODE" --version)" == v24.* ]] || fail "expected Node.js 24 in node_modules/.bin, got $("$NODE" --version)"

createdb -h "$PGHOST" -p "$PGPORT" -U postgres "$DB"
export NODE_ENV=production
export DATABASE_URL="postgresql://postgres@$PGHOST:$PGPORT/$DB"
export CONSENTQL_HMAC_KEYS="k1:$(openssl rand -base64 32)"
export CONSENTQL_PROOF_KEY="$(openssl rand -base64 32)"
export HOST=127.0.0.1
export PORT="$((20000 + RANDOM % 20000))"

echo "== npm run db:migrate"
npm run --silent db:migrate || fail "db:migrate"

echo "== npm start (NODE_ENV=production, PostgreSQL, port $PORT)"
npm start >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited during start"
  sleep 1
done
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || fail "no answer on /health within 60 s"
! grep -q "GraphiQL at" "$WORK/server.log" || fail "a production start announces GraphiQL, which is off"

echo "== first admin from the command line, then a request with its key"
KEY="$(npm run --silent client -- create --name ops-admin --role ADMIN --purposes consent_management)"
[[ "$KEY" == cq_* ]] || fail "npm run client did not print a key: $KEY"
ANSWER="$(curl -s "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' \
  -H "authorization: Bearer $KEY" -d '{"query":"{ clients { name role } }"}')"
[[ "$ANSWER" == *'"name":"ops-admin"'* ]] || fail "unexpected answer: $ANSWER"

echo "== SIGTERM to npm start"
kill -TERM "$SERVER_PID"
CODE=0
wait "$SERVER_PID" || CODE=$?
SERVER_PID=""
[[ "$CODE" == 0 ]] || fail "npm start exited with $CODE after SIGTERM"
! curl -s "http://127.0.0.1:$PORT/health" >/dev/null || fail "the port still answers after SIGTERM (an orphan server)"
cd "$WORK" # this script's own directory is not the clone's
for proc in /proc/[0-9]*; do
  [[ "$(readlink "$proc/cwd" 2>/dev/null)" != "$WORK/consentql"* ]] || fail "process ${proc#/proc/} of the clone is still running"
done
echo "production install check passed"
