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

# A real one-node Slurm for test/slurm (root only: it installs packages and starts slurmd). Brought
# down afterwards only if this script brought it up. Without root the Slurm tests skip, saying why.
slurm_started=0
if [[ $(id -u) == 0 ]]; then
  step "slurm up"
  if scontrol ping >/dev/null 2>&1 && sinfo -h -o %t 2>/dev/null | grep -Eq 'idle|mix|alloc'; then
    echo "slurm already running; leaving it as found"
  else
    slurm_t0=$(date +%s)
    if timeout 300 bash scripts/slurm-up.sh; then
      slurm_started=1
      echo "slurm up took $(( $(date +%s) - slurm_t0 )) s"
    else
      echo "test: slurm-up failed (the Slurm tests will skip and say why)"
      status=1
    fi
  fi
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

if (( slurm_started )); then
  step "slurm down"
  bash scripts/slurm-down.sh || status=1
fi

echo
echo "$summary"
exit "$status"
