# Shared by the benchmark scripts (sourced): in a fresh temporary folder $T, the demo PKI, a holder
# key, and a signed 2-bit status list of 1,048,576 entries of institution $1 (its slug in the demo
# PKI) served over loopback HTTP at http://127.0.0.1:$PORT/$1. Sets E, T, PORT and HTTP_PID; the
# folder and the server go at exit (KEEP=1 keeps the folder).
bench_setup() {
  local slug=$1
  E=target/release/esspass
  T=$(mktemp -d)
  trap 'kill ${HTTP_PID:-0} 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
  echo "work dir: $T" >&2
  $E pki init --out "$T/pki" >/dev/null
  $E pki new-key --out "$T/holder.key" >/dev/null
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$T/www"
  $E status-list new --bits 2 --size 1048576 --out "$T/list.json" >/dev/null
  $E status-list sign --list "$T/list.json" --key "$T/pki/institutions/$slug/signing.key" --chain "$T/pki/institutions/$slug/chain.pem" \
    --uri "http://127.0.0.1:$PORT/$slug" --ttl 86400 --out "$T/www/$slug" >/dev/null
  (cd "$T/www" && exec python3 -m http.server "$PORT" --bind 127.0.0.1 >/dev/null 2>&1) & HTTP_PID=$!
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/$slug" >/dev/null 2>&1 && break; sleep 0.1; done
}
