#!/usr/bin/env bash
# `npm run slurm:down`: stop what `npm run slurm:up` started for SLURM_RELEASE (default 24.11;
# `all` stops both). Stops by pid file only, never by process name.
set -euo pipefail
dir=$(dirname "$0")
case ${SLURM_RELEASE:-24.11} in
24.11) exec bash "$dir/slurm-down-24.11.sh" "$@" ;;
22.05) exec bash "$dir/slurm-down-22.05.sh" "$@" ;;
all) bash "$dir/slurm-down-24.11.sh" && bash "$dir/slurm-down-22.05.sh" ;;
*) echo "slurm-down: SLURM_RELEASE must be 24.11, 22.05 or all, not \"$SLURM_RELEASE\"" >&2; exit 2 ;;
esac
