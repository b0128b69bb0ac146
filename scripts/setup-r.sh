#!/usr/bin/env bash
# Idempotent set-up of R for the R client (clients/r) and its test: Debian 12's r-base-core,
# r-cran-httr2 (0.2.2 in bookworm) and r-cran-jsonlite. A machine that already has them spends
# about a second here (one Rscript probe); otherwise apt-get installs them (needs root or sudo).
set -euo pipefail

say() { printf 'setup-r: %s\n' "$*"; }
packages=(r-base-core r-cran-httr2 r-cran-jsonlite)

if command -v Rscript >/dev/null 2>&1 &&
  Rscript -e 'suppressPackageStartupMessages({library(httr2); library(jsonlite)})' >/dev/null 2>&1; then
  say "R $(Rscript -e 'cat(as.character(getRversion()))' 2>/dev/null) with httr2 and jsonlite already installed"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    say "need root (or sudo) to apt-get install ${packages[*]}"
    exit 1
  fi
fi

say "apt-get install ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing (fresh container) or stale: refresh once if the install fails.
if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null; then
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null
fi
Rscript -e 'suppressPackageStartupMessages({library(httr2); library(jsonlite)})'
say "installed R $(Rscript -e 'cat(as.character(getRversion()))') with httr2 $(Rscript -e 'cat(as.character(packageVersion("httr2")))')"
