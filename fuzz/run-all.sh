#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS (default 60), two at a time (this machine has
# 2 cores), each from a fresh working corpus seeded with the committed `corpus/<target>/` files, and
# prints one line per target: libFuzzer's run count, the coverage once the seeds were loaded (INITED)
# and at the end (DONE), as `cov` (code edges) and `ft` (features). Needs the nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz`). Not part of CI.
#   fuzz/run-all.sh [SECONDS] [TARGET...]
#   SEEDS=0 fuzz/run-all.sh 60     # start from an empty corpus: what the fuzzer reaches on its own
#   SANITIZER=address fuzz/run-all.sh 60   # under AddressSanitizer (default: none, see README.md)
# The seed directories are only read: new inputs go to logs/corpus/<target>/ (not committed), crashes
# to artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
shift || true
export SANITIZER=${SANITIZER:-none}
cargo +nightly fuzz build -O -s "$SANITIZER"
targets=${*:-$(cargo +nightly fuzz list)}
mkdir -p logs
export secs SEEDS=${SEEDS:-1}
run_one() {
  local t=$1 work=logs/corpus/$1 seeds=()
  rm -rf "$work"
  mkdir -p "$work"
  if [ "$SEEDS" != 0 ] && [ -d "corpus/$t" ]; then seeds=("corpus/$t"); fi
  local code=0
  cargo +nightly fuzz run -O -s "$SANITIZER" "$t" "$work" "${seeds[@]}" -- \
    -max_total_time="$secs" -max_len=70000 -print_final_stats=1 > "logs/$t.log" 2>&1 || code=$?
  echo "$t exit $code" >> "logs/$t.log"
}
export -f run_one
printf '%s\n' $targets | xargs -P 2 -I{} bash -c 'run_one {}'
status=0
for t in $targets; do
  log=logs/$t.log
  runs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 || true)
  inited=$(grep 'INITED' "$log" | grep -o 'cov: [0-9]* ft: [0-9]*' | tail -1 || true)
  done_=$(grep -E '#[0-9]+[[:space:]]+DONE' "$log" | grep -o 'cov: [0-9]* ft: [0-9]*' | tail -1 || true)
  code=$(tail -1 "$log")
  echo "$t: ${runs:-no summary}; start ${inited:-?}; end ${done_:-?} ($code)"
  case "$code" in *"exit 0") ;; *) status=1 ;; esac
done
exit $status
