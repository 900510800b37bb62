#!/usr/bin/env bash
# aegis eval from the outside: exit codes a CI can gate on, bad lines, spec errors, anonymisation.
# Usage: tests/eval/cli.sh AEGIS_BINARY        (CTest: eval/cli)
set -uo pipefail
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
check() { # name, expected exit, actual exit
  if [ "$2" != "$3" ]; then echo "FAIL: $1: exit $3, want $2" >&2; fails=$((fails + 1)); fi
}
contains() { # name, file, text
  if ! grep -qF -- "$3" "$2"; then echo "FAIL: $1: no \"$3\" in $(head -c 400 "$2")" >&2; fails=$((fails + 1)); fi
}
lacks() {
  if grep -qF -- "$3" "$2"; then echo "FAIL: $1: \"$3\" is there" >&2; fails=$((fails + 1)); fi
}
pass='{"domain":"trading","input":"What moved markets?","output":"Stocks rose as inflation cooled."}'
fail='{"domain":"trading","input":"Buy?","output":"I recommend you buy shares of Acme given your age. Not financial advice."}'
printf '%s\n%s\n' "$pass" "$pass" > "$dir/ok.jsonl"
printf '%s\n\n%s\n' "$pass" "$fail" > "$dir/bad.jsonl"
printf '%s\nnot json\n{"output":1}\n%s\n' "$pass" "$fail" > "$dir/broken.jsonl"

"$bin" eval --domain trading "$dir/ok.jsonl" > "$dir/out" 2>&1; check "all pass" 0 $?
contains "summary" "$dir/out" "2 traces: 2 pass, 0 uncertain, 0 fail"
"$bin" eval --domain trading "$dir/bad.jsonl" > "$dir/out" 2>&1; check "one fails" 1 $?
contains "the failing constraint" "$dir/out" "unregistered_advice fail"
"$bin" eval "$dir/bad.jsonl" --format json > "$dir/out" 2>&1; check "domain from the traces" 1 $?
contains "json results" "$dir/out" '"constraint":"risk_disclosure","description"'
"$bin" eval --domain trading "$dir/broken.jsonl" > "$dir/out" 2> "$dir/err"; check "bad lines" 2 $?
contains "not JSON named" "$dir/err" "broken.jsonl:2: not JSON"
contains "bad field named" "$dir/err" "broken.jsonl:3: output: is required"
contains "the good lines still ran" "$dir/out" "4      -"
"$bin" eval --domain healthcare "$dir/ok.jsonl" > "$dir/out" 2> "$dir/err"; check "domain mismatch" 2 $?
contains "mismatch named" "$dir/err" "the trace's domain is \"trading\", the spec's \"healthcare\""
"$bin" eval --domain astrology "$dir/ok.jsonl" > /dev/null 2> "$dir/err"; check "unknown domain" 2 $?
contains "unknown domain named" "$dir/err" 'no domain "astrology"'
printf 'name: x\nversion: "1"\ndescription: d\nconstraints:\n  - {id: a, description: d, severity: high, rules: [{kind: regex, pattern: "("}]}\n' > "$dir/spec.yaml"
"$bin" eval --spec "$dir/spec.yaml" "$dir/ok.jsonl" > /dev/null 2> "$dir/err"; check "bad spec" 2 $?
contains "spec error with line" "$dir/err" "spec.yaml:5: constraints[0] (a).rules[0].pattern"
"$bin" eval --domain trading "$dir/nonexistent.jsonl" > /dev/null 2>&1; check "missing file" 2 $?
"$bin" eval --domain trading --format xml "$dir/ok.jsonl" > /dev/null 2>&1; check "bad format" 2 $?

# anonymisation by the healthcare policy: names hashed (a key is needed), the rest replaced
phi='{"domain":"healthcare","input":"Summarise","output":"Patient Rosa Delgado (DOB 03/14/1961, SSN 123-45-6789) called from 555-201-7788.","metadata":{"patient":{"name":"Rosa Delgado"}}}'
printf '%s\n' "$phi" > "$dir/phi.jsonl"
env -u AEGIS_ANON_KEY "$bin" eval --domain healthcare --anonymize "$dir/phi.jsonl" > /dev/null 2> "$dir/err"
check "anonymize without a key" 2 $?
contains "key asked for" "$dir/err" "AEGIS_ANON_KEY"
AEGIS_ANON_KEY=k1 "$bin" eval --domain healthcare --anonymize "$dir/phi.jsonl" > "$dir/anon" 2>&1
check "anonymize" 0 $?
for raw in "Rosa" "Delgado" "03/14/1961" "123-45-6789" "555-201-7788"; do lacks "anonymized: $raw" "$dir/anon" "$raw"; done
contains "hashed name" "$dir/anon" "<NAME:"
contains "typed date" "$dir/anon" "<DATE>"

if [ "$fails" -gt 0 ]; then echo "eval/cli: $fails check(s) failed" >&2; exit 1; fi
echo "eval/cli: all checks passed"
