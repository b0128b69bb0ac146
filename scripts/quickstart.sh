#!/usr/bin/env bash
# Set everything up on a fresh machine and run the example pipeline end to end: the local stack
# (Temporal dev server, API, worker) starts in the background and stays up for the Web UI;
# `npx jmt down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node dist/examples/burden-pipeline.js "$@"
