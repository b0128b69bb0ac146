#!/usr/bin/env bash
# The fault-injection suite (test/faults): set-up, Slurm up when root and not running (brought down
# again only if this script brought it up), vitest on test/faults, then the table of faults
# (detected after, recovered after, tasks lost, tasks run twice) and, last, "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
# The daemon faults kill and restart the host's one-node Slurm 22.05 (its pid files, /usr/sbin daemons).
export SLURM_RELEASE=22.05 JMT_SLURM_TEST_RELEASE=22.05

status=0
step() { printf '\n== %s\n' "$*"; }

step "setup"
bash scripts/setup.sh || { status=1; echo "test-faults: setup failed (continuing)"; }

slurm_started=0
if [[ $(id -u) == 0 ]]; then
  step "slurm up"
  if scontrol ping >/dev/null 2>&1 && sinfo -h -o %t 2>/dev/null | grep -Eq 'idle|mix|alloc'; then
    echo "slurm already running; leaving it as found"
  elif timeout 300 bash scripts/slurm-up.sh; then
    slurm_started=1
  else
    echo "test-faults: slurm-up failed (the Slurm faults will skip and say why)"
  fi
fi

step "vitest test/faults"
report=test-results/vitest-faults.json
mkdir -p test-results
rm -rf "$report" test-results/faults
# The suite takes ~6-8 min on 2 cores; 30 min bounds a hung run.
VITE_CONFIG_NATIVE_IGNORE_WARNING=true timeout --kill-after=60 30m \
  npx vitest run test/faults --reporter=default --reporter=json --outputFile.json="$report" || status=1

if (( slurm_started )); then
  step "slurm down"
  bash scripts/slurm-down.sh || status=1
fi

step "faults"
node scripts/fault-table.mjs test-results/faults

echo
node scripts/vitest-summary.mjs "$report" || status=1
exit "$status"
