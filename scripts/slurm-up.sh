#!/usr/bin/env bash
# `npm run slurm:up`: bring up a Slurm cluster on this machine for tests, CI, benchmarks and the
# examples. SLURM_RELEASE picks which (default 24.11):
#   24.11  Debian trixie's Slurm in a debootstrap'd root: two nodes, slurmdbd, cgroups, REST
#          v0.0.40-v0.0.42 on 127.0.0.1:6820 (scripts/slurm-up-24.11.sh)
#   22.05  the host's Debian 12 Slurm: one node, no accounting database, REST v0.0.38 on
#          127.0.0.1:6838 (scripts/slurm-up-22.05.sh), for the CLI fallback and older sites
# Both can run at once (different ports, configurations and state). `npm run slurm:down` (same
# SLURM_RELEASE) stops exactly what this started.
set -euo pipefail
case ${SLURM_RELEASE:-24.11} in
24.11) exec bash "$(dirname "$0")/slurm-up-24.11.sh" "$@" ;;
22.05) exec bash "$(dirname "$0")/slurm-up-22.05.sh" "$@" ;;
*) echo "slurm-up: SLURM_RELEASE must be 24.11 or 22.05, not \"$SLURM_RELEASE\"" >&2; exit 2 ;;
esac
