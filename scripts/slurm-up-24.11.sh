#!/usr/bin/env bash
# Slurm 24.11 (Debian trixie's slurm-wlm) as a small real cluster on this machine: a trixie root made
# with debootstrap, and inside it munge, MariaDB + slurmdbd (accounting), slurmctld, two slurmd
# (nodes n1 and n2), slurmrestd (slurmctld and slurmdbd paths, JWT), cgroup v1 memory enforcement.
# Jobs run inside the root as on a compute node: its own Node.js (trixie's), the project directory
# and /tmp bind-mounted at the same paths (the "shared filesystem"), the job accounts with the host's
# uids. Run as root. Idempotent: a second run with everything up only checks it (and mounts the
# calling checkout if another one brought the cluster up). scripts/slurm-down-24.11.sh stops exactly
# what this started, by pid file (the root shares /proc with the host: never by name), and unmounts
# what is mounted under the root.
#
# Layout ($JMT_SLURM_STATE, default /var/lib/jmt-slurm):
#   24.11/root/     the trixie root (cached; rebuilt when PACKAGES below change: stamp .jmt-packages)
#   24.11/bin/      host-side commands (sinfo, sbatch, scontrol, sacct, sdiag, runuser, ...) that run
#                   the root's own binaries through chroot (root only); 22.05 clients cannot talk to
#                   24.11 daemons. The same paths inside the root are links to the real binaries, so
#                   `24.11/bin/runuser -u U -- 24.11/bin/sbatch` works too.
#   24.11/env       what clients need (JMT_SLURM_RELEASE, _REST_URL, _BIN, _ROOT, _CGROUPS, ...)
#   24.11/started   daemons this script started (read by slurm-down)
# Inside the root: /etc/slurm (slurm.conf, slurmdbd.conf, cgroup.conf), /var/spool/slurm, /var/log/slurm,
# /run/slurm (pid files), MariaDB data in /var/lib/mysql.
#
# Settings (environment): JMT_SLURM_STATE, JMT_SLURM_REST_PORT (6820), JMT_SLURM_JOB_USER (jmtuser),
# JMT_SLURM_TEST_USERS ("jmtalice jmtbob"), JMT_SLURM_SHARED (more host paths to bind, space-separated),
# JMT_SLURM_MIRROR (default: the Debian mirror of this machine's apt sources).
set -euo pipefail
cd "$(dirname "$0")/.."
PROJECT=$(pwd -P)

STATE=${JMT_SLURM_STATE:-/var/lib/jmt-slurm}
BASE=$STATE/24.11
ROOT=$BASE/root
BIN=$BASE/bin
REST_PORT=${JMT_SLURM_REST_PORT:-6820}
JOB_USER=${JMT_SLURM_JOB_USER:-jmtuser}
TEST_USERS=${JMT_SLURM_TEST_USERS-jmtalice jmtbob}
CTLD_PORT=7817
DBD_PORT=7819
DB_PORT=3307
NODES=(n1 n2)
NODE_PORTS=(7818 7828)
# The root's package list: a change rebuilds the root (its Slurm state and accounting data go too).
# Jobs run inside it as on a compute node: Node.js for the wrapper, python3 and procps for commands.
SUITE=trixie
BASE_PACKAGES=slurm-wlm,slurmrestd,munge
PACKAGES="slurm-wlm-jwt-plugin slurmdbd mariadb-server nodejs python3-minimal ca-certificates curl jq procps util-linux"

say() { printf 'slurm-up(24.11): %s\n' "$*"; }
die() { say "$*" >&2; exit 1; }
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
in_root() { chroot "$ROOT" "$@"; }

[[ $(id -u) == 0 ]] || die "must run as root (it builds a root with debootstrap, mounts into it and starts slurmd)"

# wait_for SECONDS DESCRIPTION COMMAND...: bounded; the error names the logs.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local deadline=$(($(date +%s) + limit))
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || die "$what did not happen within $limit s (logs: $ROOT/var/log/slurm, $ROOT/var/log/mysql.log)"
    sleep 0.2
  done
}

# --- the root --------------------------------------------------------------------------------------
# The mirror this machine's apt already uses for Debian (deb822 .sources or one-line .list).
debian_mirror() {
  local m
  m=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)
  [[ -n $m ]] || m=$(grep -hE '^deb\s' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '{for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) { print $i; exit }}' | grep -E '/debian/?$' | head -1 || true)
  echo "${m%/}"
}

stamp="$SUITE $BASE_PACKAGES $PACKAGES"
build_root() {
  local mirror=${JMT_SLURM_MIRROR:-$(debian_mirror)}
  [[ -n $mirror ]] || die "no Debian mirror found in /etc/apt/sources.list*; set JMT_SLURM_MIRROR"
  command -v debootstrap >/dev/null || {
    say "installing debootstrap (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  local new=$BASE/root.new
  unmount_under "$new"
  rm -rf "$new"
  mkdir -p "$BASE/debootstrap-cache"
  say "building the $SUITE root from $mirror (debootstrap, about a minute)"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" --cache-dir="$BASE/debootstrap-cache" \
    "$SUITE" "$new" "$mirror" >"$BASE/debootstrap.log" 2>&1 ||
    die "debootstrap failed (see $BASE/debootstrap.log; last line: $(tail -1 "$BASE/debootstrap.log"))"
  # No daemon may start from a package's postinst (this script starts them).
  printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d"
  chmod 0755 "$new/usr/sbin/policy-rc.d"
  mount --bind /proc "$new/proc"
  local rc=0
  # shellcheck disable=SC2086
  chroot "$new" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES \
    >>"$BASE/debootstrap.log" 2>&1 || rc=$?
  umount "$new/proc"
  ((rc == 0)) || die "apt-get install in the root failed (see $BASE/debootstrap.log)"
  chroot "$new" apt-get clean
  echo "$stamp" >"$new/.jmt-packages"
  unmount_under "$ROOT"
  rm -rf "$ROOT"
  mv "$new" "$ROOT"
  say "root built in $(elapsed) s ($(chroot "$ROOT" dpkg-query -W -f '${Version}' slurm-wlm))"
}

# unmount_under DIR: every mount point at or below DIR, deepest first (mounts of this script only:
# nothing else mounts inside the root).
unmount_under() {
  local dir=$1
  [[ -d $dir ]] || return 0
  dir=$(realpath "$dir")
  awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# --- daemons ---------------------------------------------------------------------------------------
# running PIDFILE COMM: the recorded pid is alive, is COMM, and runs inside this root (the host may
# run its own slurmctld or munged: those are never ours).
running() {
  local f=$ROOT$1 pid
  [[ -s $f ]] || return 1
  pid=$(cat "$f")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(cat "/proc/$pid/comm") == "$2" ]] || return 1
  [[ $(readlink "/proc/$pid/root") == "$(realpath "$ROOT")" ]]
}
started() { echo "$1" >>"$BASE/started"; }

daemons_running() {
  local n
  running /run/slurm/slurmctld.pid slurmctld || return 1
  for n in "${NODES[@]}"; do running "/run/slurm/slurmd-$n.pid" slurmd || return 1; done
}

mkdir -p "$BASE"
if [[ ! -f $ROOT/.jmt-packages || $(cat "$ROOT/.jmt-packages") != "$stamp" ]]; then
  if [[ -d $ROOT ]] && daemons_running; then
    say "the root's package list changed: stopping the running cluster first"
    bash scripts/slurm-down-24.11.sh
  fi
  build_root
fi
RELEASE=$(in_root dpkg-query -W -f '${Version}' slurm-wlm | sed 's/-.*//')

# --- mounts: /proc /dev /sys (+ cgroup sub-mounts), the shared paths ---------------------------------
mount_into() { # mount_into HOSTPATH [rbind]
  local src=$1 dst=$ROOT$1
  mountpoint -q "$dst" 2>/dev/null && return 0
  mkdir -p "$dst"
  if [[ ${2:-} == rbind ]]; then
    mount --rbind "$src" "$dst"
    mount --make-rslave "$dst"
  else
    mount --bind "$src" "$dst"
  fi
}
mount_into /proc
mount_into /dev rbind
mount_into /sys rbind
mount_into /tmp
for p in "$PROJECT" ${JMT_SLURM_SHARED:-}; do
  [[ -d $p ]] || die "JMT_SLURM_SHARED: $p is not a directory"
  mount_into "$(realpath "$p")"
done
# Path components above the project keep the host's permissions inside the root: a checkout the job
# accounts cannot reach on the host is unreachable in the root too (jmt doctor says so).
for d in $(p=$PROJECT; while [[ $p != / ]]; do p=$(dirname "$p"); echo "$p"; done); do
  [[ $d == / || ! -d $ROOT$d ]] && continue
  chmod --reference="$d" "$ROOT$d" 2>/dev/null || true
done

# The root resolves names as the host does; slurmctld must resolve its own host name.
{ cat /etc/hosts; getent hosts "$(hostname -s)" >/dev/null || echo "127.0.0.1 $(hostname -s)"; } >"$ROOT/etc/hosts.new"
mv "$ROOT/etc/hosts.new" "$ROOT/etc/hosts"

# --- accounts: the job accounts with the host's uids ----------------------------------------------
for u in $JOB_USER $TEST_USERS; do
  id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
  uid=$(id -u "$u") gid=$(id -g "$u") group=$(id -gn "$u") home=$(getent passwd "$u" | cut -d: -f6)
  if ! in_root getent group "$group" >/dev/null; then in_root groupadd -g "$gid" "$group"; fi
  if ! in_root getent passwd "$u" >/dev/null; then in_root useradd -u "$uid" -g "$gid" -M -d "$home" -s /bin/bash "$u"; fi
  [[ $(in_root id -u "$u") == "$uid" ]] || die "account $u has uid $(in_root id -u "$u") in the root but $uid on the host"
  mkdir -p "$ROOT$home" && chown "$uid:$gid" "$ROOT$home"
done

# --- configuration --------------------------------------------------------------------------------
H=$(hostname -s)
NCPU=$(nproc)
# Two nodes on one machine: each node is the whole machine (its CPUs), 40 % of its memory each.
NODE_MEM=$(($(free -m | awk '/^Mem:/{print $2}') * 4 / 10))
mkdir -p "$ROOT"/{var/spool/slurm/ctld,var/log/slurm,run/slurm,run/munge,run/mysqld,etc/slurm}
for n in "${NODES[@]}"; do mkdir -p "$ROOT/var/spool/slurm/d/$n"; done
in_root chown slurm:slurm /var/spool/slurm/ctld /var/log/slurm /run/slurm
in_root chown munge:munge /run/munge
in_root chown mysql:mysql /run/mysqld
KEY=/var/spool/slurm/ctld/jwt_hs256.key
[[ -s $ROOT$KEY ]] || dd if=/dev/urandom of="$ROOT$KEY" bs=32 count=1 status=none
in_root chown slurm:slurm "$KEY"
chmod 0600 "$ROOT$KEY"
DBPASS_FILE=$ROOT/etc/slurm/.dbpass
[[ -s $DBPASS_FILE ]] || head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$DBPASS_FILE"
chmod 0600 "$DBPASS_FILE"
DBPASS=$(cat "$DBPASS_FILE")

# cgroup v1 with a writable memory controller: cgroup enforcement (OUT_OF_MEMORY). Otherwise
# CgroupPlugin=disabled (slurmd starts) and memory is enforced by sampling (OverMemoryKill).
if [[ -d /sys/fs/cgroup/memory && -w /sys/fs/cgroup/memory && ! -e /sys/fs/cgroup/cgroup.controllers ]]; then
  CGROUPS=v1
  CGROUP_CONF=$'CgroupPlugin=cgroup/v1\nConstrainRAMSpace=yes\nConstrainSwapSpace=yes\nAllowedSwapSpace=0'
  PROCTRACK=proctrack/cgroup TASK=task/cgroup,task/affinity GATHER_PARAMS=
else
  CGROUPS=disabled
  CGROUP_CONF='CgroupPlugin=disabled'
  PROCTRACK=proctrack/linuxproc TASK=task/none GATHER_PARAMS=JobAcctGatherParams=OverMemoryKill
  say "no writable cgroup v1 memory controller here: CgroupPlugin=disabled, memory enforced by sampling (OverMemoryKill)"
fi

write_if_changed() { # write_if_changed FILE MODE OWNER < content; prints 1 when changed
  local tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; echo 0; return; fi
  mv "$tmp" "$1"
  chmod "$2" "$1"
  in_root chown "$3" "${1#"$ROOT"}"
  echo 1
}

node_lines=""
for i in "${!NODES[@]}"; do
  node_lines+="NodeName=${NODES[$i]} NodeHostname=$H NodeAddr=127.0.0.1 Port=${NODE_PORTS[$i]} CPUs=$NCPU RealMemory=$NODE_MEM State=UNKNOWN"$'\n'
done
conf_changed=$(write_if_changed "$ROOT/etc/slurm/slurm.conf" 0644 root:root <<EOF
# managed by jobmon-temporal scripts/slurm-up-24.11.sh; rewritten on every run.
ClusterName=jmt
SlurmctldHost=${H}(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$KEY
StateSaveLocation=/var/spool/slurm/ctld
SlurmdSpoolDir=/var/spool/slurm/d/%n
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd-%n.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd-%n.log
MpiDefault=none
ProctrackType=$PROCTRACK
TaskPlugin=$TASK
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default every job that names no memory is given the whole node: one job at a time.
DefMemPerCPU=100
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=2
$GATHER_PARAMS
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
AccountingStorageEnforce=associations
JobCompType=jobcomp/none
MaxArraySize=100001
MaxJobCount=200000
# Slurm's default: finished jobs leave slurmctld after 5 minutes; slurmdbd keeps them.
MinJobAge=300
ReturnToService=1
# A dead slurmd is noticed within about 30 s (default 300 s), so a node-failure test is short.
SlurmdTimeout=30
KillWait=2
OverTimeLimit=0
InactiveLimit=0
MessageTimeout=10
# A workflow manager must not have a task run twice behind its back: no automatic requeue.
JobRequeue=0
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,default_queue_depth=1000,bf_interval=1,max_rpc_cnt=0
${node_lines}# Limits kept in step with the queue rows of migration 0005_slurm (cluster "slurm").
# debug: the queue's 1 GiB for the task + 64 MB for the wrapper, whose share every job asks
# for on top of its task's memory (src/domain/wrapper-memory.ts).
PartitionName=debug Nodes=$(IFS=,; echo "${NODES[*]}") Default=YES MaxTime=60 MaxMemPerNode=1088 State=UP
PartitionName=long Nodes=$(IFS=,; echo "${NODES[*]}") MaxTime=INFINITE State=UP
EOF
)
cg_changed=$(write_if_changed "$ROOT/etc/slurm/cgroup.conf" 0644 root:root <<<"$CGROUP_CONF")
dbd_changed=$(write_if_changed "$ROOT/etc/slurm/slurmdbd.conf" 0600 slurm:slurm <<EOF
# managed by jobmon-temporal scripts/slurm-up-24.11.sh
AuthType=auth/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$KEY
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=slurm
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurm/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DBPASS
StorageLoc=slurm_acct_db
EOF
)

# --- commands for the host ------------------------------------------------------------------------
mkdir -p "$BIN" "$ROOT$BIN"
for c in sinfo squeue scontrol sbatch scancel sacct sacctmgr sdiag sprio sshare sstat srun salloc runuser; do
  real=/usr/bin/$c
  [[ $c == runuser ]] && real=/usr/sbin/runuser
  ln -sfn "$real" "$ROOT$BIN/$c"
  cat >"$BIN/$c.new" <<EOF
#!/bin/sh
# Slurm $RELEASE's $c, run in the trixie root $ROOT (written by scripts/slurm-up-24.11.sh).
[ "\$(id -u)" = 0 ] || { echo "$c: Slurm $RELEASE runs in $ROOT; from the host its commands need root (chroot)" >&2; exit 1; }
exec /usr/sbin/chroot "$ROOT" /bin/sh -c 'cd "\$0" 2>/dev/null || cd /; exec "\$@"' "\$(pwd)" $real "\$@"
EOF
  chmod 0755 "$BIN/$c.new"
  mv "$BIN/$c.new" "$BIN/$c"
done

# --- daemons --------------------------------------------------------------------------------------
if ! running /run/munge/munged.pid munged; then
  in_root runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
  started munged
  wait_for 10 "munged answering" chroot "$ROOT" sh -c 'munge -n | unmunge'
fi

if ! running /run/mysqld/mysqld.pid mariadbd; then
  [[ -d $ROOT/var/lib/mysql/mysql ]] || in_root mariadb-install-db --user=mysql >/dev/null
  setsid chroot "$ROOT" /usr/sbin/mariadbd --user=mysql --bind-address=127.0.0.1 --port=$DB_PORT \
    --socket=/run/mysqld/mysqld.sock --pid-file=/run/mysqld/mysqld.pid --innodb-buffer-pool-size=64M \
    --innodb-lock-wait-timeout=900 >>"$ROOT/var/log/mysql.log" 2>&1 </dev/null &
  started mariadbd
  wait_for 30 "MariaDB answering on 127.0.0.1:$DB_PORT" chroot "$ROOT" mariadb -e 'select 1'
fi
in_root mariadb -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
  CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
  CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DBPASS';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"

dbd_up() { in_root sacctmgr -n -P show cluster format=cluster; }
if running /run/slurm/slurmdbd.pid slurmdbd && ((dbd_changed)); then
  kill -TERM "$(cat "$ROOT/run/slurm/slurmdbd.pid")"
  wait_for 15 "slurmdbd stopping for its new configuration" bash -c "! [[ -d /proc/$(cat "$ROOT/run/slurm/slurmdbd.pid") ]]"
fi
if ! running /run/slurm/slurmdbd.pid slurmdbd; then
  in_root /usr/sbin/slurmdbd
  started slurmdbd
fi
wait_for 60 "slurmdbd answering on port $DBD_PORT" dbd_up
in_root sacctmgr -n -P show cluster format=cluster | grep -qx jmt || in_root sacctmgr -i add cluster jmt >/dev/null

if running /run/slurm/slurmctld.pid slurmctld && ((conf_changed || cg_changed)); then
  say "configuration changed: reconfiguring the running daemons"
  in_root scontrol reconfigure
fi
if ! running /run/slurm/slurmctld.pid slurmctld; then
  in_root /usr/sbin/slurmctld
  started slurmctld
fi
wait_for 30 "slurmctld answering on port $CTLD_PORT" chroot "$ROOT" scontrol ping
for n in "${NODES[@]}"; do
  if ! running "/run/slurm/slurmd-$n.pid" slurmd; then
    in_root /usr/sbin/slurmd -N "$n"
    started "slurmd-$n"
  fi
done
# A node a test left DOWN (its slurmd was killed) comes back with its slurmd; resume it.
for n in "${NODES[@]}"; do
  if in_root sinfo -h -N -n "$n" -o %t | grep -Eq 'down|drain|fail'; then
    in_root scontrol update NodeName="$n" State=RESUME 2>/dev/null || true
  fi
done
nodes_up() { [[ $(in_root sinfo -h -N -o '%N %t' | sort -u | grep -Ec ' (idle|mix|alloc)$') == "${#NODES[@]}" ]]; }
wait_for 60 "nodes ${NODES[*]} idle" nodes_up

# Accounting associations: one account, every job account (and root) in it.
assoc_users=$(in_root sacctmgr -n -P show assoc cluster=jmt account=jmt format=user | sort -u)
in_root sacctmgr -n -P show account format=account | grep -qx jmt || in_root sacctmgr -i add account jmt Cluster=jmt Description=jobmon >/dev/null
for u in root $JOB_USER $TEST_USERS; do
  grep -qx "$u" <<<"$assoc_users" || in_root sacctmgr -i add user "$u" Account=jmt Cluster=jmt >/dev/null
done

if ! running /run/slurm/slurmrestd.pid slurmrestd; then
  touch "$ROOT/var/log/slurm/slurmrestd.log"
  # Never as SlurmUser or root (slurmrestd refuses both); cwd / so a job without a cwd is not put in ours.
  setsid chroot "$ROOT" /bin/sh -c "cd / && echo \$\$ >/run/slurm/slurmrestd.pid && SLURM_JWT=daemon exec /usr/sbin/slurmrestd -a rest_auth/jwt -u nobody -g nogroup 127.0.0.1:$REST_PORT" \
    >>"$ROOT/var/log/slurm/slurmrestd.log" 2>&1 </dev/null &
  started slurmrestd
fi
rest_up() {
  local t
  t=$(in_root scontrol token username="$JOB_USER" lifespan=60 | cut -d= -f2)
  # slurmrestd escapes the slashes of its paths: read the document with jq (the root's).
  curl -sf -H "X-SLURM-USER-NAME: $JOB_USER" -H "X-SLURM-USER-TOKEN: $t" "http://127.0.0.1:$REST_PORT/openapi/v3" |
    in_root jq -e '[.paths | keys[] | select(startswith("/slurmdb/v0.0.4"))] | length > 0' >/dev/null
}
wait_for 30 "slurmrestd answering on 127.0.0.1:$REST_PORT (slurmctld and slurmdbd paths)" rest_up

cat >"$BASE/env.new" <<EOF
JMT_SLURM_RELEASE=$RELEASE
JMT_SLURM_REST_URL=http://127.0.0.1:$REST_PORT
JMT_SLURM_BIN=$BIN
JMT_SLURM_ROOT=$ROOT
JMT_SLURM_CGROUPS=$CGROUPS
JMT_SLURM_ACCOUNTING=slurmdbd
JMT_SLURM_NODES="${NODES[*]}"
JMT_SLURM_SLURMD_LOG=$ROOT/var/log/slurm/slurmd-%n.log
EOF
mv "$BASE/env.new" "$BASE/env"

say "up in $(elapsed) s: Slurm $RELEASE, nodes $(in_root sinfo -h -N -o '%N=%t' | sort -u | tr '\n' ' ')cgroups $CGROUPS, accounting slurmdbd, REST http://127.0.0.1:$REST_PORT, commands $BIN, project $PROJECT shared"
