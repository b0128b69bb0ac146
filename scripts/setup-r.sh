#!/usr/bin/env bash
# Idempotent set-up of R for the R client (clients/r, the `jobmonr` package) and its tests: Debian
# 12's r-base-core, r-cran-httr2 (0.2.2 in bookworm), r-cran-jsonlite, r-cran-testthat and
# r-cran-yaml (CRAN is not reachable from here: Debian packages only), then `R CMD INSTALL clients/r`
# so that `library(jobmonr)` works. A machine that already has the packages spends a few seconds
# here (one Rscript probe and the install); otherwise apt-get installs them (needs root or sudo).
# Regenerating the package's man/ pages needs r-cran-roxygen2 as well (clients/r/README.md).
set -euo pipefail

say() { printf 'setup-r: %s\n' "$*"; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packages=(r-base-core r-cran-httr2 r-cran-jsonlite r-cran-testthat r-cran-yaml)
probe='suppressPackageStartupMessages({library(httr2); library(jsonlite); library(testthat); library(yaml)})'

if command -v Rscript >/dev/null 2>&1 && Rscript -e "$probe" >/dev/null 2>&1; then
  say "R $(Rscript -e 'cat(as.character(getRversion()))' 2>/dev/null) with httr2, jsonlite, testthat and yaml already installed"
else
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
  # Another apt run (a parallel set-up) may hold the lock: wait for it rather than fail.
  apt=("${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600)
  if ! "${apt[@]}" install -y --no-install-recommends "${packages[@]}" >/dev/null; then
    "${apt[@]}" update -qq
    "${apt[@]}" install -y --no-install-recommends "${packages[@]}" >/dev/null
  fi
  Rscript -e "$probe"
  say "installed R $(Rscript -e 'cat(as.character(getRversion()))') with httr2 $(Rscript -e 'cat(as.character(packageVersion("httr2")))')"
fi

# The package itself: into the site library when writable, else the user's library.
lib=$(Rscript -e 'cat(.libPaths()[1])')
if [[ ! -w $lib ]]; then
  lib=$(Rscript -e 'cat(Sys.getenv("R_LIBS_USER"))')
  mkdir -p "$lib"
fi
if ! out=$(R CMD INSTALL --no-test-load -l "$lib" "$here/clients/r" 2>&1); then
  printf '%s\n' "$out"
  exit 1
fi
say "installed the jobmonr package $(Rscript -e "cat(as.character(packageVersion('jobmonr', lib.loc = '$lib')))") into $lib"
