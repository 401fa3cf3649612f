#!/usr/bin/env bash
# OpenID4VP verifier throughput, esspass's verifier role vs Animo's @openid4vc/openid4vp verifier,
# driven the same way in the same run: N transactions and their encrypted wallet answers prepared
# beforehand, then posted over HTTPS on 127.0.0.1 by a load generator in the same process, C at a
# time. Ours: crates/esspass-node/benches/verifications.rs (SQLite; it also signs a proof and stores
# result, proof and audit record durably). Theirs: interop/bench-vp.mjs (nothing signed or stored).
#   scripts/bench-vp.sh [N] [C]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-4000}
C=${2:-16}
cargo build --release -q -p esspass
[ -d interop/node_modules/@openid4vc/openid4vp ] || (cd interop && npm ci --no-audit --no-fund >/dev/null)
. scripts/bench-common.sh
bench_setup si-zzzs
$E issue --type ehic --claims examples/ehic-claims.json --key "$T/pki/institutions/si-zzzs/signing.key" \
  --chain "$T/pki/institutions/si-zzzs/chain.pem" --holder-jwk "$T/holder.key" --iss https://127.0.0.1:8442 \
  --status-uri "http://127.0.0.1:$PORT/si-zzzs" --status-idx 4242 > "$T/cred"
OURS=$(env -u ESSPASS_TEST_POSTGRES ESSPASS_BENCH_N="$N" ESSPASS_BENCH_C="$C" cargo bench -q -p esspass-node --bench verifications 2>/dev/null | grep '^sqlite:')
PEER=$(NODE_EXTRA_CA_CERTS="$T/pki/root/ca.pem" node interop/bench-vp.mjs "$T/pki" "$T/cred" "$T/holder.key" "$N" "$C")
python3 - "$OURS" "$PEER" <<'PY'
import json, re, sys
ours, peer = sys.argv[1], json.loads(sys.argv[2])
rate = float(re.search(r"([0-9.]+)/s", ours).group(1))
p50, p99 = (float(x) for x in re.search(r"p50 ([0-9.]+) ms, p99 ([0-9.]+) ms", ours).groups())
print(f"esspass verifier (SQLite, proof signed, stored durably): {rate:8.0f}/s  p50 {p50:5.1f} ms  p99 {p99:5.1f} ms")
print(f"{peer['peer']} (nothing stored): {peer['per_second']:8.0f}/s  p50 {peer['p50_ms']:5.1f} ms  p99 {peer['p99_ms']:5.1f} ms")
print(f"-> esspass {rate / peer['per_second']:.1f}x the peer's throughput at {peer['concurrency']} in flight")
PY
