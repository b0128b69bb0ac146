#!/usr/bin/env bash
# Install IHME Jobmon 3.3.0 (client, core, server) into bench/peer/.venv for `npm run bench:peer`.
# Idempotent: a second run only checks the stamp file and exits.
#
# jobmon-client comes from PyPI (requirements.txt). jobmon-core and jobmon-server 3.3.0 are not on
# PyPI (see requirements.txt for why the published versions do not work together), so they are
# built from the upstream source at tag server-3.3.0 (commit 9394bf15), taken from $JOBMON_SRC only:
# a clone (work tree or bare) of github.com/ihmeuw-scicomp/jobmon that contains that commit.
#   git clone https://github.com/ihmeuw-scicomp/jobmon.git ~/src/jobmon
#   JOBMON_SRC=~/src/jobmon npm run bench:peer
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
commit=9394bf158a61bcdaf3bdf242dcf5dba212d029d7
stamp="$venv/.jobmon-3.3.0-installed"

wanted="$(cat "$here/requirements.txt" "$here/constraints.txt" | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  exit 0
fi

if [[ -z "${JOBMON_SRC:-}" ]] || ! git -C "$JOBMON_SRC" cat-file -e "$commit^{commit}" 2>/dev/null; then
  echo "setup-jobmon: set JOBMON_SRC to a clone of https://github.com/ihmeuw-scicomp/jobmon that" \
    "contains commit $commit (tag server-3.3.0), e.g." \
    "git clone https://github.com/ihmeuw-scicomp/jobmon.git ~/src/jobmon && JOBMON_SRC=~/src/jobmon npm run bench:peer" >&2
  exit 2
fi

# Anything short of a finished install (or an install for other requirements) starts over.
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" -c "$here/constraints.txt"

src="$venv/src"
rm -rf "$src"
mkdir -p "$src"
git --git-dir="$(git -C "$JOBMON_SRC" rev-parse --absolute-git-dir)" archive "$commit" | tar -x -C "$src"
# setuptools-scm picks the package data (defaults.yaml, alembic.ini, migrations) from the files git
# tracks, and the version from git tags: give the unpacked tree a repository, and the version.
git -C "$src" init -q
git -C "$src" add -A
git -C "$src" -c user.name=bench -c user.email=bench@localhost commit -qm "jobmon $commit"
SETUPTOOLS_SCM_PRETEND_VERSION=3.3.0 "$venv/bin/pip" install --quiet --disable-pip-version-check \
  -c "$here/constraints.txt" "$src/jobmon_core" "$src/jobmon_server" "jobmon-client==3.3.0"

"$venv/bin/python" - <<'PY'
from importlib.metadata import version
got = {p: version(p) for p in ("jobmon_client", "jobmon_core", "jobmon_server")}
assert set(got.values()) == {"3.3.0"}, got
print("jobmon installed:", got)
PY
echo "$wanted" >"$stamp"
