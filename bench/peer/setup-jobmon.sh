#!/usr/bin/env bash
# Install IHME Jobmon 3.3.0 (client, core, server) into bench/peer/.venv for `npm run bench:peer`.
# Idempotent: a second run only checks the stamp file and exits.
#
# jobmon-client comes from PyPI (requirements.txt). jobmon-core and jobmon-server 3.3.0 are not on
# PyPI (see requirements.txt for why the published versions do not work together), so they are
# built from the upstream source at tag server-3.3.0 (commit 9394bf15), taken from, in order:
#   $JOBMON_SRC            a git directory or work tree of github.com/ihmeuw-scicomp/jobmon
#   /work/.mirror/ihmeuw-scicomp+jobmon/repo   a mirror, where this workplace keeps fetched repositories
#   the GitHub tarball      https://codeload.github.com/ihmeuw-scicomp/jobmon/tar.gz/<commit>
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
commit=9394bf158a61bcdaf3bdf242dcf5dba212d029d7
stamp="$venv/.jobmon-3.3.0-installed"

wanted="$(cat "$here/requirements.txt" "$here/constraints.txt" | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  exit 0
fi

# Anything short of a finished install (or an install for other requirements) starts over.
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" -c "$here/constraints.txt"

src="$venv/src"
rm -rf "$src"
mkdir -p "$src"
# A mirror of the repository where this workplace keeps fetched ones (no GitHub access here).
mirror=/work/.mirror/ihmeuw-scicomp+jobmon/repo
if [[ -z "${JOBMON_SRC:-}" && -d "$mirror" ]]; then JOBMON_SRC="$mirror"; fi
if [[ -n "${JOBMON_SRC:-}" ]]; then
  git --git-dir="$(git -C "$JOBMON_SRC" rev-parse --absolute-git-dir)" archive "$commit" | tar -x -C "$src"
elif ! curl -fsSL --max-time 120 "https://codeload.github.com/ihmeuw-scicomp/jobmon/tar.gz/$commit" |
  tar -xz -C "$src" --strip-components=1; then
  echo "setup-jobmon: cannot download Jobmon's source from GitHub; set JOBMON_SRC to a clone of" \
    "github.com/ihmeuw-scicomp/jobmon (commit $commit)" >&2
  exit 2
fi
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
