#!/usr/bin/env bash
# Fuzz every cargo-fuzz target in fuzz/fuzz_targets for a bounded time, then replay the
# committed crash inputs in fuzz/regressions. Fails on any crash, leak, timeout or OOM.
#
#   bash .ci/fuzz.sh                      # from the repo root (CI=true in CI)
#   FUZZ_SECONDS=600 FUZZ_TARGETS="envelope frame" bash .ci/fuzz.sh
#
# Env: FUZZ_SECONDS (per target, default 60), FUZZ_TARGETS (space-separated subset, default
# all), FUZZ_KEEP (a directory to keep logs, corpora and crash inputs in; default: a temp dir
# that is removed). Nothing is written inside the repo except fuzz/target (ignored).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
CARGO_FUZZ_VERSION=0.13.2
TOOLCHAIN=nightly
RSS_LIMIT_MB=2048
TIMEOUT_SECS=10

log() { printf 'fuzz: %s\n' "$*"; }

# --- tools -------------------------------------------------------------------------------
if ! rustup toolchain list | grep -q "^${TOOLCHAIN}"; then
    log "installing the ${TOOLCHAIN} toolchain"
    rustup toolchain install "$TOOLCHAIN" --profile minimal
fi
if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
    log "installing cargo-fuzz ${CARGO_FUZZ_VERSION}"
    cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi

HOST=$(rustc "+${TOOLCHAIN}" -vV | sed -n 's/^host: //p')
BIN_DIR="$ROOT/fuzz/target/$HOST/release"

if [[ -n "${FUZZ_TARGETS:-}" ]]; then
    read -r -a TARGETS <<<"$FUZZ_TARGETS"
else
    TARGETS=()
    for f in fuzz/fuzz_targets/*.rs; do
        TARGETS+=("$(basename "$f" .rs)")
    done
fi

# --- build (release with debug assertions, AddressSanitizer) ------------------------------
build_start=$SECONDS
log "building ${#TARGETS[@]} targets with cargo +${TOOLCHAIN} fuzz build"
(cd fuzz && cargo "+${TOOLCHAIN}" fuzz build)
log "build took $((SECONDS - build_start)) s"

if [[ -n "${FUZZ_KEEP:-}" ]]; then
    WORK=$FUZZ_KEEP
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi

dict_for() {
    case "$1" in
        envelope | decrypt_message | push_event) echo "-dict=$ROOT/fuzz/dict/xml.dict" ;;
        *) echo "" ;;
    esac
}

stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

passed=0
failed=0
summary=()

# --- replay committed crash inputs ---------------------------------------------------------
for t in "${TARGETS[@]}"; do
    dir="fuzz/regressions/$t"
    [[ -d "$dir" ]] || continue
    mapfile -t inputs < <(find "$dir" -type f ! -name '*.md' ! -name '.gitkeep' | sort)
    ((${#inputs[@]})) || continue
    if "$BIN_DIR/$t" -rss_limit_mb="$RSS_LIMIT_MB" -timeout="$TIMEOUT_SECS" "${inputs[@]}" \
        >"$WORK/$t.regressions.log" 2>&1; then
        log "regressions $t: ${#inputs[@]} inputs ok"
        passed=$((passed + 1))
    else
        log "regressions $t: FAILED"
        tail -n 40 "$WORK/$t.regressions.log"
        failed=$((failed + 1))
    fi
done

# --- fuzz each target for a bounded time ---------------------------------------------------
for t in "${TARGETS[@]}"; do
    corpus="$WORK/corpus/$t"
    artifacts="$WORK/artifacts/$t"
    mkdir -p "$corpus" "$artifacts"
    cp fuzz/corpus/"$t"/seed-* "$corpus"/ 2>/dev/null || true
    seeds=$(find "$corpus" -type f | wc -l)
    dict=$(dict_for "$t")
    log "running $t for ${FUZZ_SECONDS} s (${seeds} seeds)"
    start=$SECONDS
    rc=0
    # shellcheck disable=SC2086 # $dict is empty or one word
    "$BIN_DIR/$t" \
        -max_total_time="$FUZZ_SECONDS" \
        -rss_limit_mb="$RSS_LIMIT_MB" \
        -timeout="$TIMEOUT_SECS" \
        -print_final_stats=1 \
        -artifact_prefix="$artifacts/" \
        $dict \
        "$corpus" >"$WORK/$t.log" 2>&1 || rc=$?
    secs=$((SECONDS - start))
    execs=$(stat number_of_executed_units "$WORK/$t.log")
    rate=$(stat average_exec_per_sec "$WORK/$t.log")
    rss=$(stat peak_rss_mb "$WORK/$t.log")
    size=$(find "$corpus" -type f | wc -l)
    if ((rc == 0)); then
        result=ok
        passed=$((passed + 1))
    else
        result="FAILED (exit $rc)"
        failed=$((failed + 1))
        echo "----- $t: last lines of the libFuzzer log -----"
        tail -n 60 "$WORK/$t.log"
        for a in "$artifacts"/*; do
            [[ -f "$a" ]] || continue
            echo "----- $t: crash input $(basename "$a") ($(wc -c <"$a") bytes), base64:"
            head -c 8192 "$a" | base64 -w 0
            echo
        done
        echo "Save the input to fuzz/regressions/$t/ and add a unit test that replays it."
    fi
    line=$(printf '%-17s %-18s execs=%-10s exec/s=%-7s secs=%-4s corpus=%s->%s rss_mb=%s' \
        "$t" "$result" "${execs:-?}" "${rate:-?}" "$secs" "$seeds" "$size" "${rss:-?}")
    log "$line"
    summary+=("$line")
done

echo "===== fuzz summary (${FUZZ_SECONDS} s per target) ====="
printf '%s\n' "${summary[@]}"
echo "fuzz: ${passed} passed, ${failed} failed"
((failed == 0))
