#!/usr/bin/env bash
# Record slurmrestd's answers from the running Slurm 24.11 (scripts/slurm-up-24.11.sh) into
# test/fixtures/slurm-rest/<version>/ for the unit tests of the REST parsing (one directory per
# OpenAPI version: v0.0.40, v0.0.41, v0.0.42). Run as root; takes about a minute. Tokens never reach
# the files (they travel in headers only; the meta block is dropped).
#
# Per version: a 4-task array (exit 0; exit 3; over its cgroup memory; sleeps, throttled %1 so one
# task is still pending when recorded), its job records from slurmctld (running/pending and
# finished), its records from slurmdbd, the partition, a node, the node list, an array throttle
# update, and the error for an unknown job id.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${JMT_SLURM_STATE:-/var/lib/jmt-slurm}
# shellcheck disable=SC1091
source "$STATE/24.11/env"
USER_=${JMT_SLURM_JOB_USER:-jmtuser}
OUT=test/fixtures/slurm-rest
WORK=/tmp/jmt-slurm-record
mkdir -p "$WORK" && chmod 1777 "$WORK"
token=$("$JMT_SLURM_BIN/scontrol" token username="$USER_" lifespan=900 | cut -d= -f2)
api() { # api METHOD PATH [BODY]: the answer without meta (client addresses, versions of the moment)
  curl -s -X "$1" -H "X-SLURM-USER-NAME: $USER_" -H "X-SLURM-USER-TOKEN: $token" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} "$JMT_SLURM_REST_URL$2" | jq 'del(.meta)'
}
script='#!/bin/bash
case $SLURM_ARRAY_TASK_ID in
  1) echo ok ;;
  2) exit 3 ;;
  3) exec node -e "const a = []; for (;;) a.push(Buffer.alloc(50e6, 1))" ;;
  *) sleep 20 ;;
esac'
for v in v0.0.40 v0.0.41 v0.0.42; do
  d=$OUT/$v
  mkdir -p "$d"
  body=$(jq -n --arg s "$script" --arg w "$WORK" '{job: {script: $s, name: "rec", partition: "debug",
    current_working_directory: $w, environment: ["PATH=/usr/bin:/bin"], standard_output: ($w + "/%A_%a.out"),
    array: "1-4%3", requeue: false, memory_per_node: {set: true, number: 100}, time_limit: {set: true, number: 2}}}')
  api POST "/slurm/$v/job/submit" "$body" >"$d/submit.json"
  id=$(jq -r .job_id "$d/submit.json")
  sleep 3
  api GET "/slurm/$v/job/$id" >"$d/job-running.json"
  api POST "/slurm/$v/job/$id" '{"array": "2"}' >"$d/update-throttle.json"
  api GET "/slurm/$v/job/$id" >"$d/job-throttled.json"
  for _ in $(seq 1 60); do
    [[ $(api GET "/slurm/$v/job/$id" | jq '[.jobs[].job_state[] | select(. == "PENDING" or . == "RUNNING")] | length') == 0 ]] && break
    sleep 1
  done
  api GET "/slurm/$v/job/$id" >"$d/job-finished.json"
  sleep 5 # slurmdbd is eventually consistent (names, steps) a few seconds after the end
  api GET "/slurmdb/$v/job/$id" >"$d/db-job.json"
  api GET "/slurmdb/$v/job/${id}_3" >"$d/db-job-task.json"
  api GET "/slurm/$v/partition/debug" >"$d/partition.json"
  api GET "/slurm/$v/node/n1" >"$d/node.json"
  api GET "/slurm/$v/nodes" >"$d/nodes.json"
  api GET "/slurm/$v/job/999999" >"$d/job-unknown.json"
  echo "recorded $v (array $id)"
done
