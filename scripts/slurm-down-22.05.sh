#!/usr/bin/env bash
# Stop exactly the Slurm daemons scripts/slurm-up.sh started (pids under $STATE/run), newest first.
# A munged this script did not start (the machine's own) is left alone. Jobs still in the queue are
# kept in $STATE/ctld and reappear at the next slurm-up; JMT_SLURM_WIPE=1 also removes that state.
# The job accounts slurm-up created (jmtuser, jmtalice, jmtbob) are left in place on purpose: they
# are unprivileged and harmless, files the jobs wrote stay owned by someone, and the next slurm-up
# (or another Slurm test file running meanwhile) needs them again.
set -euo pipefail

STATE=${JMT_SLURM_STATE:-/var/lib/jmt-slurm}
RUN=$STATE/run
say() { printf 'slurm-down: %s\n' "$*"; }

[[ $(id -u) == 0 ]] || { say "must run as root"; exit 1; }

# stop NAME: TERM the recorded pid if it still is NAME, wait up to 10 s, then KILL.
stop() {
  local name=$1 f=$RUN/$1.pid pid
  [[ $name == munged ]] && f=$RUN/munge/munged.pid
  [[ -s $f ]] || return 0
  pid=$(cat "$f")
  if [[ -r /proc/$pid/comm && $(cat "/proc/$pid/comm") == "$name" ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do [[ -d /proc/$pid ]] || break; sleep 0.2; done
    if [[ -d /proc/$pid ]]; then kill -KILL "$pid" 2>/dev/null || true; say "$name ($pid) killed"; else say "$name ($pid) stopped"; fi
  fi
  rm -f "$f"
}

started=()
[[ -f $RUN/started ]] && mapfile -t started < <(awk '!seen[$0]++' "$RUN/started")
for name in slurmrestd slurmd slurmctld munged; do
  for s in "${started[@]}"; do [[ $s == "$name" ]] && stop "$name"; done
done
rm -f "$RUN/started" "$STATE/22.05/env"
if [[ ${JMT_SLURM_WIPE:-0} == 1 ]]; then
  rm -rf "${STATE:?}/ctld" "$STATE/d" "$STATE/log"
  say "state wiped"
fi
say "done"
