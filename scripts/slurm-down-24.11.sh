#!/usr/bin/env bash
# Stop exactly what scripts/slurm-up-24.11.sh started (listed in $STATE/24.11/started), newest layer
# first, each by its pid file inside the root and only if that pid still is the program and runs in
# this root (the root shares /proc with the host: never by name). Then unmount everything mounted
# under the root. The root itself stays cached; JMT_SLURM_WIPE=1 also removes its Slurm state
# (spool, logs, accounting database), so the next slurm-up starts an empty cluster.
set -euo pipefail

STATE=${JMT_SLURM_STATE:-/var/lib/jmt-slurm}
BASE=$STATE/24.11
ROOT=$BASE/root
say() { printf 'slurm-down(24.11): %s\n' "$*"; }

[[ $(id -u) == 0 ]] || { say "must run as root" >&2; exit 1; }
[[ -d $ROOT ]] || { say "no root at $ROOT: nothing to stop"; exit 0; }
REAL_ROOT=$(realpath "$ROOT")

# stop NAME PIDFILE COMM: TERM, wait up to 15 s, then KILL.
stop() {
  local name=$1 f=$ROOT$2 comm=$3 pid
  [[ -s $f ]] || return 0
  pid=$(cat "$f")
  if [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(cat "/proc/$pid/comm") == "$comm" &&
    $(readlink "/proc/$pid/root") == "$REAL_ROOT" ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 75); do [[ -d /proc/$pid ]] || break; sleep 0.2; done
    if [[ -d /proc/$pid ]]; then
      kill -KILL "$pid" 2>/dev/null || true
      say "$name ($pid) killed"
    else
      say "$name ($pid) stopped"
    fi
  fi
  rm -f "$f"
}

# Running jobs are cancelled through Slurm first (bounded): their slurmstepd would outlive slurmd
# and keep the shared paths busy.
if [[ -s $ROOT/run/slurm/slurmctld.pid ]] && chroot "$ROOT" scontrol ping >/dev/null 2>&1; then
  jobs=$(chroot "$ROOT" squeue -h -t RUNNING,COMPLETING,PENDING -o %A 2>/dev/null | sort -u | tr '\n' ' ')
  if [[ -n ${jobs// /} ]]; then
    # shellcheck disable=SC2086
    chroot "$ROOT" scancel $jobs 2>/dev/null || true
    for _ in $(seq 1 50); do
      [[ -z $(chroot "$ROOT" squeue -h -t RUNNING,COMPLETING -o %A 2>/dev/null) ]] && break
      sleep 0.2
    done
    say "cancelled jobs $jobs"
  fi
fi

started=()
[[ -f $BASE/started ]] && mapfile -t started < <(awk '!seen[$0]++' "$BASE/started")
was_started() { local s; for s in "${started[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }
for name in slurmrestd slurmd-n1 slurmd-n2 slurmctld slurmdbd mariadbd munged; do
  was_started "$name" || continue
  case $name in
  slurmrestd) stop "$name" /run/slurm/slurmrestd.pid slurmrestd ;;
  slurmd-*) stop "$name" "/run/slurm/$name.pid" slurmd ;;
  slurmctld) stop "$name" /run/slurm/slurmctld.pid slurmctld ;;
  slurmdbd) stop "$name" /run/slurm/slurmdbd.pid slurmdbd ;;
  mariadbd) stop "$name" /run/mysqld/mysqld.pid mariadbd ;;
  munged) stop "$name" /run/munge/munged.pid munged ;;
  esac
done
rm -f "$BASE/started" "$BASE/env"

# Every mount at or below the root, deepest first.
awk -v d="$REAL_ROOT" 'index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
  while read -r m; do umount -l "$m" 2>/dev/null || say "could not unmount $m"; done
if awk -v d="$REAL_ROOT" 'index($5, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
  say "mounts under $ROOT remain" >&2
  exit 1
fi

if [[ ${JMT_SLURM_WIPE:-0} == 1 ]]; then
  rm -rf "${ROOT:?}/var/spool/slurm" "$ROOT/var/log/slurm" "$ROOT/var/lib/mysql" "$ROOT/etc/slurm/.dbpass"
  say "state wiped"
fi
say "done"
