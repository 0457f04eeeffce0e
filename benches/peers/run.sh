#!/usr/bin/env bash
# Peer comparison: the same 1 KiB and 64 KiB pushes (XML envelope, msg_signature check,
# AES-256-CBC, frame) through wechatpy (Python), wechat-crypto (Node) and wxopen, in one run.
#
#   benches/peers/run.sh [SECONDS_PER_CASE] [RUNS]
#
# Installs wechatpy + pycryptodome into a throwaway venv and wechat-crypto into a throwaway
# npm dir, both under a fresh /tmp directory removed on exit (KEEP=1 keeps it). Each leg is run
# RUNS times (default 2) and the best figure per implementation and size is kept.
set -euo pipefail

SECONDS_PER_CASE="${1:-2}"
RUNS="${2:-2}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$(mktemp -d /tmp/wxopen-peers.XXXXXX)"
if [ "${KEEP:-0}" != 1 ]; then
  trap 'rm -rf "$WORK"' EXIT
  trap 'exit 130' INT TERM
fi

echo "== installing peers into $WORK" >&2
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check wechatpy pycryptodome
mkdir -p "$WORK/node"
(cd "$WORK/node" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund wechat-crypto >/dev/null)
PY_VERSION="$("$WORK/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("wechatpy"))')"
NODE_PKG_VERSION="$(node -p "require('$WORK/node/node_modules/wechat-crypto/package.json').version")"

echo "== building wxopen-peer (bench profile, shared with cargo bench)" >&2
(cd "$ROOT" && cargo build --quiet --profile bench -p wxopen-benches --bin wxopen-peer)
PEER="${CARGO_TARGET_DIR:-$ROOT/target}/release/wxopen-peer"
"$PEER" gen "$WORK/fixtures"

RESULTS="$WORK/results.txt"
: > "$RESULTS"
for run in $(seq 1 "$RUNS"); do
  echo "== run $run/$RUNS" >&2
  "$WORK/venv/bin/python" "$HERE/wechatpy_leg.py" "$WORK/fixtures" "$SECONDS_PER_CASE" | tee -a "$RESULTS" >&2
  NODE_PATH="$WORK/node/node_modules" node "$HERE/wechat_crypto_leg.js" "$WORK/fixtures" "$SECONDS_PER_CASE" | tee -a "$RESULTS" >&2
  "$PEER" run "$WORK/fixtures" "$SECONDS_PER_CASE" | tee -a "$RESULTS" >&2
done

echo
echo "decrypt with signature check, message bytes per second (best of $RUNS runs; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "peers: wechatpy $PY_VERSION (pycryptodome, $("$WORK/venv/bin/python" -V 2>&1)), wechat-crypto $NODE_PKG_VERSION (node $(node -v))"
awk '
  { if (!(($1, $2) in best) || $3 > best[$1, $2]) best[$1, $2] = $3 }
  END {
    printf "| %-14s | %12s | %12s | %14s | %14s |\n", "implementation", "1 KiB MB/s", "64 KiB MB/s", "wxopen × (1K)", "wxopen × (64K)"
    printf "|%s|%s|%s|%s|%s|\n", "----------------", "--------------", "--------------", "----------------", "----------------"
    n = split("wechatpy wechat-crypto wxopen", impls, " ")
    for (i = 1; i <= n; i++) {
      k = impls[i]
      a = best[k, 1024]; b = best[k, 65536]
      ra = (a > 0) ? sprintf("%.1f×", best["wxopen", 1024] / a) : "-"
      rb = (b > 0) ? sprintf("%.1f×", best["wxopen", 65536] / b) : "-"
      printf "| %-14s | %12.1f | %12.1f | %14s | %14s |\n", k, a, b, ra, rb
    }
  }' "$RESULTS"
