#!/usr/bin/env bash
# A one-node Slurm on loopback for this machine (Debian 12, Slurm 22.05; `SLURM_RELEASE=22.05 npm run slurm:up`): tests, CI, benchmarks and
# the "Run on Slurm" section of docs/slurm.md. Run as root. Idempotent: a second run with the daemons
# up and the same configuration only checks them. `scripts/slurm-down.sh` stops exactly what this
# started (pids recorded under $STATE/run), and nothing else.
#
#   - installs munge, slurm-wlm and slurmrestd with apt-get when missing;
#   - writes /etc/slurm/slurm.conf for `hostname -s` (marked as ours; a foreign slurm.conf is never
#     overwritten), a JWT key, the demo job user (default jmtuser) and two test accounts (jmtalice,
#     jmtbob: workflows of different owners run as different Unix users, docs/slurm.md "Identity");
#   - starts munged (unless one already answers), slurmctld, slurmd, and slurmrestd as user slurm on
#     127.0.0.1:$JMT_SLURM_REST_PORT; waits, bounded, until the node is idle and REST answers.
#
# Settings (environment): JMT_SLURM_STATE (/var/lib/jmt-slurm), JMT_SLURM_REST_PORT_22_05 (6838: 6820 is
# Slurm 24.11's, so both can run),
# JMT_SLURM_JOB_USER (jmtuser), JMT_SLURM_TEST_USERS ("jmtalice jmtbob"), JMT_SLURM_SLOTS_PER_CPU (32:
# OverSubscribe factor). slurm-down.sh leaves these accounts in place (see there).
set -euo pipefail
cd "$(dirname "$0")/.."

STATE=${JMT_SLURM_STATE:-/var/lib/jmt-slurm}
REST_PORT=${JMT_SLURM_REST_PORT_22_05:-6838}
JOB_USER=${JMT_SLURM_JOB_USER:-jmtuser}
TEST_USERS=${JMT_SLURM_TEST_USERS-jmtalice jmtbob}
SLOTS=${JMT_SLURM_SLOTS_PER_CPU:-32}
CONF=/etc/slurm/slurm.conf
MARK='# managed by jobmon-temporal scripts/slurm-up.sh'
RUN=$STATE/run

say() { printf 'slurm-up: %s\n' "$*"; }
die() { say "$*"; exit 1; }
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

[[ $(id -u) == 0 ]] || die "must run as root (it installs packages and starts slurmd)"

# --- install -----------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmrestd >/dev/null || ! command -v munged >/dev/null \
  || ! ls /usr/lib/*/slurm-wlm/auth_jwt.so >/dev/null 2>&1; then
  say "installing munge slurm-wlm slurm-wlm-jwt-plugin slurmrestd (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends munge slurm-wlm slurm-wlm-jwt-plugin slurmrestd >/dev/null
  say "installed in $(elapsed) s"
fi
# Unprivileged accounts jobs run as (never root, never slurm): created once, left on later runs.
for u in $JOB_USER $TEST_USERS; do
  id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
done

# --- configuration -------------------------------------------------------------------------------
H=$(hostname -s)
NCPU=$(nproc)
MEM=$(( $(free -m | awk '/^Mem:/{print $2}') * 8 / 10 ))
mkdir -p "$STATE"/{ctld,d,log,run} /run/munge /etc/slurm
chown slurm:slurm "$STATE/ctld" "$STATE/log"
chown munge:munge /run/munge
chmod 0755 "$STATE" "$STATE/log"
KEY=$STATE/ctld/jwt_hs256.key
if [[ ! -s $KEY ]]; then dd if=/dev/urandom of="$KEY" bs=32 count=1 status=none; fi
chown slurm:slurm "$KEY"; chmod 0600 "$KEY"
# The completion log is read by the distributor for jobs slurmctld has purged (no slurmdbd here).
touch "$STATE/log/jobcomp.log"; chown slurm:slurm "$STATE/log/jobcomp.log"; chmod 0644 "$STATE/log/jobcomp.log"

new_conf=$(mktemp)
trap 'rm -f "$new_conf"' EXIT
cat >"$new_conf" <<EOF
$MARK (state in $STATE); rewritten on every run.
ClusterName=jmt
SlurmctldHost=${H}(127.0.0.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$KEY
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
MpiDefault=none
# linuxproc tracks the job by process ancestry, so the task's command (which the wrapper starts in a
# session of its own) is still counted for memory and signalled at cancel / time limit.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default every job that names no memory is given the whole node: one job at a time.
DefMemPerCPU=100
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=1
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/log/jobcomp.log
MaxArraySize=100001
MaxJobCount=200000
# Finished jobs stay visible to REST/squeue/scontrol for 30 minutes (no accounting database).
MinJobAge=1800
ReturnToService=2
KillWait=2
OverTimeLimit=0
InactiveLimit=0
MessageTimeout=10
# A workflow manager must not have a task run twice behind its back: no automatic requeue.
JobRequeue=0
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,default_queue_depth=1000,bf_interval=1,max_rpc_cnt=0
NodeName=${H} NodeAddr=127.0.0.1 CPUs=${NCPU} RealMemory=${MEM} State=UNKNOWN
# Limits kept in step with the queue rows of migration 0005_slurm (cluster "slurm").
# debug: the queue's 1 GiB for the task + 64 MB for the wrapper, whose share every job asks
# for on top of its task's memory (src/domain/wrapper-memory.ts).
PartitionName=debug Nodes=${H} Default=YES MaxTime=60 MaxMemPerNode=1088 State=UP OverSubscribe=FORCE:${SLOTS}
PartitionName=long Nodes=${H} MaxTime=INFINITE State=UP OverSubscribe=FORCE:${SLOTS}
EOF

if [[ -f $CONF ]] && ! grep -qF "$MARK" "$CONF"; then
  die "$CONF exists and was not written by this script; refusing to overwrite another cluster's configuration"
fi
conf_changed=0
if ! cmp -s "$new_conf" "$CONF" 2>/dev/null; then
  cp "$new_conf" "$CONF"; chmod 0644 "$CONF"; conf_changed=1
fi

# --- daemons -------------------------------------------------------------------------------------
# alive NAME: the recorded pid of NAME is running and is that program.
# munged runs as user munge and writes its pid file into a directory of its own.
pidfile() { if [[ $1 == munged ]]; then echo "$RUN/munge/munged.pid"; else echo "$RUN/$1.pid"; fi; }
alive() {
  local f pid
  f=$(pidfile "$1")
  [[ -s $f ]] || return 1
  pid=$(cat "$f")
  [[ -r /proc/$pid/comm && $(cat "/proc/$pid/comm") == "$1" ]]
}
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) < deadline )) || die "$what did not happen within $limit s (logs: $STATE/log)"
    sleep 0.2
  done
}

# munged: reuse one that answers (it may belong to the machine); record only one we start.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  mkdir -p "$RUN/munge"; chown munge:munge "$RUN/munge"
  runuser -u munge -- /usr/sbin/munged --pid-file="$RUN/munge/munged.pid"
  echo munged >>"$RUN/started"
  wait_for 10 "munged answering" bash -c 'munge -n | unmunge'
fi

if (( conf_changed )) && alive slurmctld; then
  say "configuration changed: reconfiguring the running daemons"
  scontrol reconfigure
fi
if ! alive slurmctld; then
  /usr/sbin/slurmctld
  echo slurmctld >>"$RUN/started"
fi
if ! alive slurmd; then
  /usr/sbin/slurmd
  echo slurmd >>"$RUN/started"
fi
wait_for 30 "node $H idle" bash -c "sinfo -h -o %t -n $H | grep -Eq '^(idle|mix|alloc)'"

if ! alive slurmrestd; then
  touch "$STATE/log/slurmrestd.log"; chown slurm:slurm "$STATE/log/slurmrestd.log"
  # Not root (slurmrestd refuses it), cwd / (jobs without a cwd would land in ours); setpriv execs,
  # so $! is slurmrestd's own pid.
  pushd / >/dev/null
  SLURM_JWT=daemon setsid setpriv --reuid=slurm --regid=slurm --init-groups \
    /usr/sbin/slurmrestd -a rest_auth/jwt -s openapi/v0.0.38 "127.0.0.1:$REST_PORT" \
    >>"$STATE/log/slurmrestd.log" 2>&1 </dev/null &
  echo $! >"$RUN/slurmrestd.pid"
  popd >/dev/null
  echo slurmrestd >>"$RUN/started"
fi
wait_for 15 "slurmrestd answering on 127.0.0.1:$REST_PORT" \
  bash -c "curl -s -o /dev/null -H 'X-SLURM-USER-NAME: $JOB_USER' -H \"X-SLURM-USER-TOKEN: \$(scontrol token username=$JOB_USER lifespan=60 | cut -d= -f2)\" http://127.0.0.1:$REST_PORT/slurm/v0.0.38/ping"

# What clients need (the same keys as scripts/slurm-up-24.11.sh writes for 24.11).
mkdir -p "$STATE/22.05"
cat >"$STATE/22.05/env" <<EOF
JMT_SLURM_RELEASE=$(sinfo --version | awk '{print $2}')
JMT_SLURM_REST_URL=http://127.0.0.1:$REST_PORT
JMT_SLURM_BIN=/usr/bin
JMT_SLURM_ROOT=/
JMT_SLURM_CGROUPS=disabled
JMT_SLURM_ACCOUNTING=none
JMT_SLURM_NODES="$H"
JMT_SLURM_SLURMD_LOG=$STATE/log/slurmd.log
JMT_SLURM_JOBCOMP_LOG=$STATE/log/jobcomp.log
EOF

say "up in $(elapsed) s: node $H ($(sinfo -h -o '%t %c CPUs' -n "$H")), REST http://127.0.0.1:$REST_PORT, jobs run as their owners' accounts (demo: $JOB_USER; test: ${TEST_USERS:-none}), state $STATE"
