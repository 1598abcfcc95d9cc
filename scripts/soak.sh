#!/usr/bin/env bash
# Soak test, not part of the test command: mixed operations from many tasks of the async
# client against a private Samba, with network faults in every other 20 s period, for
# MINUTES (default 30). Prints operations, errors by kind, reconnects and memory over
# time; fails if a read ever differs from what was written or memory keeps growing.
# `bash scripts/soak.sh [MINUTES] [TASKS]`
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh
cargo run --release -p smb-tests --bin smb-soak -- --minutes "${1:-30}" --tasks "${2:-16}"
