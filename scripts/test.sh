#!/usr/bin/env bash
# The whole suite: set-up, type checks, vitest. The last line printed is exactly
# "N passed, N failed" (", N skipped" appended when some were skipped), counted from vitest's JSON
# report. Exit status is non-zero if set-up, a type check, vitest or any test failed; later steps
# still run after an earlier failure so one report shows everything.
set -uo pipefail
cd "$(dirname "$0")/.."

status=0
step() { printf '\n== %s\n' "$*"; }

step "setup"
if ! bash scripts/setup.sh; then
  status=1
  echo "test: setup failed (continuing, so the report still shows which tests run)"
fi

step "typecheck (src, examples, bench, scripts)"
npx tsc -p . --noEmit || status=1
step "typecheck (test)"
npx tsc -p test || status=1
step "typecheck (the GUI's JS against the contract's types)"
npx tsc -p src/gui || status=1

# Real Slurm clusters for the Slurm tests (root only: they install packages, build a root and start
# daemons): 24.11 (two nodes, slurmdbd, cgroups, REST v0.0.40-42) for the Slurm suite, and the
# host's 22.05 (one node, REST v0.0.38) for the CLI fallback and v0.0.38 tests. Each is brought down
# afterwards only if this script brought it up. As root with CI=true a Slurm test whose cluster is
# not up fails; otherwise it skips, saying why.
slurm_started=()
# A cluster someone else brought up (its env file written by slurm-up, its slurmctld answering).
slurm_answering() {
  local env=${JMT_SLURM_STATE:-/var/lib/jmt-slurm}/$1/env bin
  [[ -s $env ]] || return 1
  bin=$(sed -n 's/^JMT_SLURM_BIN=//p' "$env")
  timeout 20 "$bin/scontrol" ping 2>/dev/null | grep -q 'is UP'
}
if [[ $(id -u) == 0 ]]; then
  for release in 24.11 22.05; do
    step "slurm $release up"
    slurm_t0=$(date +%s)
    if slurm_answering "$release"; then
      echo "slurm $release already running; leaving it as found"
      # 24.11 runs in its own root, which sees only the project directories it was brought up from:
      # another checkout's cluster could not see this one, and every Slurm test would end E.
      # slurm-up is idempotent on a running cluster and adds this checkout's mount.
      if [[ $release == 24.11 ]]; then SLURM_RELEASE=$release timeout 600 bash scripts/slurm-up.sh || status=1; fi
    elif SLURM_RELEASE=$release timeout 600 bash scripts/slurm-up.sh; then
      slurm_started+=("$release")
      echo "slurm $release up took $(($(date +%s) - slurm_t0)) s"
    else
      echo "test: slurm-up $release failed (its Slurm tests fail in CI, skip elsewhere, saying why)"
      status=1
    fi
  done
fi

step "vitest"
report=test-results/vitest.json
mkdir -p test-results
rm -f "$report"
# 80 minutes keeps a hung run inside CI's 90-minute budget with time left to report; --kill-after
# covers a vitest that ignores SIGTERM. Per-test and per-hook bounds are in vitest.config.ts.
VITE_CONFIG_NATIVE_IGNORE_WARNING=true timeout --kill-after=60 80m \
  npx vitest run --reporter=default --reporter=json --outputFile.json="$report" || status=1

# "N passed, N failed" from the JSON report (shared with scripts/test-faults.sh).
summary=$(node scripts/vitest-summary.mjs "$report") || status=1

for release in "${slurm_started[@]}"; do
  step "slurm $release down"
  SLURM_RELEASE=$release bash scripts/slurm-down.sh || status=1
done

echo
echo "$summary"
exit "$status"
