#!/usr/bin/env bash
# Coverage-guided fuzzing on the stable toolchain: cargo fuzz with libFuzzer and no
# sanitizer (Rust's own checks catch what matters here: panics, overflows with debug
# assertions on, unbounded allocation through libFuzzer's -rss_limit_mb and
# -malloc_limit_mb). Not part of the test command; run it for as long as you like:
#
#     bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET…]
#
# Each target runs for SECONDS on its corpus in fuzz/corpus/TARGET/ (seeded from the
# recorded captures by `cargo test -p smb-cli --test fuzz_seeds -- --ignored`); the
# corpus is then minimized (-merge=1) and kept. A crash lands in fuzz/artifacts/TARGET/
# and should become a regression test beside the code it breaks. At the end a table
# gives, per target, the executions, the coverage (libFuzzer's cov: edges and ft:
# features), the corpus size, the peak RSS and the crash found, if any.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"

seconds=${1:-60}
shift || true
all=(wire fscc security rpc auth kerberos smb1_trans transform dfs dissector hostile_server name_service
    recording url_and_paths cli_arguments)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
cargo fuzz build --sanitizer none "${targets[@]/#/--bin=}" >/dev/null 2>&1 ||
    cargo fuzz build --sanitizer none || exit 1

table=$(printf '%-15s %12s %7s %7s %7s %8s  %s' target execs cov ft corpus rss_mb crash)
failed=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    echo "== $t ($seconds s)" >&2
    log=$(cargo fuzz run --sanitizer none "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=1024 -malloc_limit_mb=256 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" 2>&1)
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' <<<"$log" | tail -1)
    # Without a DONE line (a crash), the last status line has the counts.
    [ -n "$done_line" ] || done_line=$(grep -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED)' <<<"$log" | tail -1)
    execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$done_line")
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$done_line")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$done_line")
    rss=$(sed -nE 's/^stat::peak_rss_mb:[[:space:]]*([0-9]+).*/\1/p' <<<"$log" | tail -1)
    crash=$(grep -oE 'artifacts/[^ ]*(crash|oom|timeout|leak)-[0-9a-f]+' <<<"$log" | tail -1)
    if [ -n "$crash" ]; then
        failed=1
        grep -E 'panicked at|ERROR: libFuzzer' -A2 <<<"$log" | head -6 >&2
    fi
    # Keep a minimized corpus: merge into a fresh directory and replace.
    rm -rf "corpus/.merge-$t" && mkdir "corpus/.merge-$t"
    if cargo fuzz run --sanitizer none "$t" "corpus/.merge-$t" "corpus/$t" -- \
        -merge=1 -rss_limit_mb=1024 -malloc_limit_mb=256 -timeout=10 \
        -artifact_prefix="artifacts/$t/" >/dev/null 2>&1; then
        rm -rf "corpus/$t" && mv "corpus/.merge-$t" "corpus/$t"
    else
        rm -rf "corpus/.merge-$t"
    fi
    n=$(find "corpus/$t" -type f | wc -l)
    table+=$'\n'$(printf '%-15s %12s %7s %7s %7s %8s  %s' "$t" "${execs:-?}" "${cov:-?}" \
        "${ft:-?}" "$n" "${rss:-?}" "${crash:--}")
done
echo "$table"
exit $failed
