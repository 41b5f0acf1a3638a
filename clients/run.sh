#!/usr/bin/env bash
# Clients in other languages, from openapi.json: lint the spec (Spectral `spectral:oas`, Redocly
# `recommended`: any error fails), generate a TypeScript client (openapi-typescript, compiled with
# `tsc --strict`) and a Python client (openapi-python-client), fail when a generator warns or
# leaves out an operation, then run a round trip in each language against a real server, and
# verify its ES256, EdDSA and RS256 tokens with third-party JWT libraries (PyJWT, jose).
# Tool versions are pinned: package-lock.json (npm ci) and python/requirements.txt (==).
set -euo pipefail
cd "$(dirname "$0")"
spec=../openapi.json
root=$(cd .. && pwd)

echo "== clients: install pinned tools"
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
venv=${HEIMDALL_CLIENTS_VENV:-$PWD/.venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r python/requirements.txt
export PATH="$venv/bin:$PWD/node_modules/.bin:$PATH"

echo "== clients: lint the spec"
spectral lint --ruleset .spectral.yaml --fail-severity error "$spec"
redocly lint --config redocly.yaml "$spec"

# Every operationId of the spec, to check that each generator produced each one.
operations=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("\n".join(o["operationId"] for p in s["paths"].values() for o in p.values()))' "$spec")

echo "== clients: TypeScript"
rm -rf ts/generated ts/dist
openapi-typescript "$spec" --redocly redocly.yaml --output ts/generated/schema.d.ts 2>ts/generated.log || { cat ts/generated.log; exit 1; }
if grep -Eiq "warn|error" ts/generated.log; then cat ts/generated.log; echo "openapi-typescript warned"; exit 1; fi
for op in $operations; do
  grep -q "^    $op: {" ts/generated/schema.d.ts || { echo "openapi-typescript left out $op"; exit 1; }
done
tsc --project ts/tsconfig.json

echo "== clients: Python"
rm -rf python/generated
openapi-python-client generate --path "$spec" --output-path python/generated/heimdall_client --meta none >python/generated.log 2>&1 \
  || { cat python/generated.log; exit 1; }
if grep -Eiq "warning|could not|unable|removal" python/generated.log; then cat python/generated.log; echo "openapi-python-client warned"; exit 1; fi
for op in $operations; do
  ls python/generated/heimdall_client/api/*/"$op.py" >/dev/null 2>&1 || { echo "openapi-python-client left out $op"; exit 1; }
done

echo "== clients: round trips against a real server"
(cd "$root" && cargo build --locked --quiet -p heimdall-server --bin heimdall)
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export HEIMDALL_DATA_DIR="$data" HEIMDALL_LISTEN="127.0.0.1:$port" HEIMDALL_LOG=warn
unset HEIMDALL_DATABASE_URL
key=$("$root/target/debug/heimdall" bootstrap | grep -o 'pcft_live_[A-Za-z0-9_-]*')
"$root/target/debug/heimdall" serve >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
export HEIMDALL_URL="http://127.0.0.1:$port" HEIMDALL_PLATFORM_KEY="$key"
node ts/dist/roundtrip.js
PYTHONPATH=python/generated python3 python/roundtrip.py

echo "== clients: third-party JWT libraries verify every signing algorithm through the JWKS"
python3 interop/mint.py "$data/tokens.json"
python3 interop/verify.py "$data/tokens.json"
node interop/verify.mjs "$data/tokens.json"
