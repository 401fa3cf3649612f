#!/usr/bin/env bash
# Verification throughput, esspass vs the npm peer, on the same presentation in the same run.
#   scripts/bench-verify.sh [ITERATIONS_RUST] [ITERATIONS_NODE]
# esspass: `esspass verify --repeat N` — all 14 checks: two ES256 signatures, chain (cached after the
# first run), Issuer Trusted List, Type Metadata, validity, status (fetched once over loopback HTTP,
# then cached), KB-JWT nonce/aud/sd_hash/iat. Node: @sd-jwt/sd-jwt-vc with @sd-jwt/crypto-nodejs, key
# import included (see interop/bench-verify.mjs for what it checks). One core each, sequentially.
set -euo pipefail
cd "$(dirname "$0")/.."
RUST_N=${1:-20000}
NODE_N=${2:-2000}
cargo build --release -q -p esspass
[ -d interop/node_modules ] || (cd interop && npm ci --no-audit --no-fund >/dev/null)
. scripts/bench-common.sh
bench_setup el-efka
TODAY=$(date -u +%F)
python3 - "$T/claims.json" "$TODAY" <<'PY'
import json, sys
c = json.load(open("examples/pda1-claims.json"))
c["date_of_issuance"] = c["starting_date"] = sys.argv[2]
json.dump(c, open(sys.argv[1], "w"))
PY
$E issue --type pda1 --claims "$T/claims.json" --key "$T/pki/institutions/el-efka/signing.key" \
  --chain "$T/pki/institutions/el-efka/chain.pem" --holder-jwk "$T/holder.key" --iss https://127.0.0.1:8441 \
  --status-uri "http://127.0.0.1:$PORT/el-efka" --status-idx 4242 > "$T/cred"
$E present --credential "$T/cred" --holder-key "$T/holder.key" --disclose document_number \
  --disclose personal_administrative_number --disclose 'work_information.work_address.0' \
  --nonce bench-nonce --aud https://127.0.0.1:8452 > "$T/pres"
RUST=$($E verify --json --repeat "$RUST_N" --trust-anchor "$T/pki/root/ca.pem" --trusted-list "$T/pki/trusted-lists/issuers.jwt" \
  --nonce bench-nonce --aud https://127.0.0.1:8452 "$T/pres")
NODE_CACHED=$(cd interop && node bench-verify.mjs "$T/pres" bench-nonce "$NODE_N" cached)
NODE_SHIPPED=$(cd interop && node bench-verify.mjs "$T/pres" bench-nonce $(( NODE_N / 20 + 5 )) shipped)
python3 - "$RUST" "$NODE_CACHED" "$NODE_SHIPPED" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["outcome"] == "valid", r["outcome"]
rus = r["timing"]["seconds_per_verification"] * 1e6
print(f"esspass verify (all 14 checks, cached chain+status)        {rus:10.1f} µs/verification ({1e6/rus:7.0f}/s)")
for raw in sys.argv[2:]:
    n = json.loads(raw)
    print(f"{n['peer']} [{n['mode']:7}] {n['us_per_verification']:10.1f} µs/verification ({n['verifications_per_second']:7.0f}/s)  -> esspass {n['us_per_verification']/rus:.1f}x faster")
PY
