#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60), two at a time (this machine has 2 cores), and prints
# one line per target with libFuzzer's run count. Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`). Not part of CI.
#   fuzz/run-all.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
cargo +nightly fuzz build -O
mkdir -p logs
targets=$(cargo +nightly fuzz list)
printf '%s\n' $targets | xargs -P 2 -I{} sh -c \
  "cargo +nightly fuzz run -O {} -- -max_total_time=$secs -max_len=70000 > logs/{}.log 2>&1; echo \"{} exit \$?\" >> logs/{}.log"
status=0
for t in $targets; do
  runs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "logs/$t.log" | tail -1 || true)
  code=$(tail -1 "logs/$t.log")
  echo "$t: ${runs:-no summary} ($code)"
  case "$code" in *"exit 0") ;; *) status=1 ;; esac
done
exit $status
