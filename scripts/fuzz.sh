#!/usr/bin/env bash
# Coverage-guided fuzzing on the stable toolchain: cargo fuzz with libFuzzer and no
# sanitizer (Rust's own checks catch what matters here: panics, overflows, unbounded
# allocation through libFuzzer's -rss_limit_mb). Not part of the test command; run it
# for as long as you like: `bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET…]`.
# The corpus in fuzz/corpus/ grows and is kept; a crash lands in fuzz/artifacts/TARGET/
# and should become a regression test beside the code it breaks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(url_and_paths cli_arguments hostile_server name_service recording)

command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
cargo fuzz build --sanitizer none

for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "== $t ($seconds s)"
    cargo fuzz run --sanitizer none "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=512 -print_final_stats=1 2>&1 |
        grep -E '^#[0-9]+[[:space:]]+DONE|^stat::peak_rss_mb|crash-|panicked' || true
done
