#!/usr/bin/env bash
# Coverage-guided fuzzing in CI: installs nightly Rust and cargo-fuzz when missing, builds every
# target of fuzz/ once, seeds the corpora from tests/vectors/, runs each target for FUZZ_SECONDS
# (default 20) two at a time (FUZZ_JOBS), and ends with "fuzz: N passed, M failed".
# A target fails when libFuzzer exits non-zero (panic, abort, OOM, timeout); its crash artifact
# path is printed. Logs: build/fuzz/<target>.log. Usage: scripts/fuzz-test.sh [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-2}
export PATH="$HOME/.cargo/bin:$PATH"
start=$(date +%s)

if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal || { echo "fuzz: 0 passed, 1 failed"; exit 1; }
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked || { echo "fuzz: 0 passed, 1 failed"; exit 1; }
fi
cargo +nightly fuzz --version

cd "$root/fuzz"
# fuzz/Cargo.lock is committed: refuse to build if it would have to change.
if ! cargo +nightly metadata --locked --format-version 1 >/dev/null; then
  echo "fuzz/Cargo.lock is out of date"; echo "fuzz: 0 passed, 1 failed"; exit 1
fi
echo "==> building the fuzz targets"
if ! cargo +nightly fuzz build; then
  echo "fuzz: 0 passed, 1 failed"; exit 1
fi
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir="$root/fuzz/target/$triple/release"

echo "==> seeding fuzz/corpus/ from tests/vectors/"
"$bin_dir/seed_corpus" "$root/tests/vectors" "$root/fuzz/corpus" || { echo "fuzz: 0 passed, 1 failed"; exit 1; }

if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo +nightly fuzz list); fi
logs="$root/build/fuzz"
mkdir -p "$logs"
echo "==> running ${#targets[@]} targets for ${seconds}s each, $jobs at a time"

run_one() { # target: runs it, writes its log and a one-line verdict
  local t=$1 rc
  mkdir -p "$root/fuzz/corpus/$t" "$root/fuzz/artifacts/$t"
  "$bin_dir/$t" "$root/fuzz/corpus/$t" \
    -artifact_prefix="$root/fuzz/artifacts/$t/" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=8192 -timeout=30 \
    -print_final_stats=1 >"$logs/$t.log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    local execs
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -n 1)
    echo "PASS $t (${execs:-?} runs)" >"$logs/$t.verdict"
  else
    {
      echo "FAIL $t (exit $rc, log build/fuzz/$t.log)"
      grep -E 'Test unit written to|panicked at|ERROR: libFuzzer|SUMMARY' "$logs/$t.log" | head -n 5 | sed 's/^/    /'
    } >"$logs/$t.verdict"
  fi
  cat "$logs/$t.verdict"
}

running=0
for t in "${targets[@]}"; do
  rm -f "$logs/$t.verdict"
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

passed=0
failed=0
for t in "${targets[@]}"; do
  if grep -q '^PASS' "$logs/$t.verdict" 2>/dev/null; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "fuzz wall time: $(( $(date +%s) - start ))s"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
