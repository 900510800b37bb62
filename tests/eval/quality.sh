#!/usr/bin/env bash
# Precision and recall of Tier-1 per constraint on the labelled traces (tests/data/eval/<domain>/*.jsonl),
# against the figures recorded in tests/data/eval/quality-baseline.json: fails when any drops below.
# Usage: tests/eval/quality.sh AEGIS_BINARY [REPO_DIR]     (make test runs it through CTest: eval/quality)
# To record new figures after an improvement: run it, read the table, and raise the numbers in the
# baseline that you mean to hold.
set -euo pipefail
bin=$1
repo=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
data=$repo/tests/data/eval
baseline=$data/quality-baseline.json
status=0
for dir in "$data"/*/; do
  domain=$(basename "$dir")
  files=("$dir"*.jsonl)
  [ -e "${files[0]}" ] || continue
  echo "== $domain: $(cat "${files[@]}" | grep -c . ) traces"
  if ! cat "${files[@]}" | "$bin" eval --domain "$domain" --quality --baseline "$baseline" - |
       sed -n '/^domain /,$p'; then
    echo "eval/quality: $domain is below its baseline (or a trace is malformed)" >&2
    status=1
  fi
done
exit $status
