#!/usr/bin/env bash
# End-to-end demo of the `smb` CLI against a private Samba on loopback: list the server's
# shares, put a file with a progress bar, list the share (ls -l), get and cat it back,
# compare SHA-256 sums (also of the copy on the server's disk), show the throughput of
# each transfer, and stop Samba cleanly. Prints PASS or FAIL and exits 0 or 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
cargo build --release -p smb-cli -p smb-tests --bins
bin="${CARGO_TARGET_DIR:-target}/release"

work="$(mktemp -d)"
server_pid=""
server_in=""
stop_samba() {
    # The demo server stops Samba and removes its directory when its stdin closes.
    if [ -n "$server_in" ]; then
        exec {server_in}>&-
        server_in=""
        wait "$server_pid" || true
    fi
}
cleanup() {
    stop_samba
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    exit 1
}

coproc SAMBA { exec "$bin/samba-demo-server"; }
server_pid="$SAMBA_PID"
server_out="${SAMBA[0]}"
server_in="${SAMBA[1]}"
url=""
share_dir=""
while IFS= read -r -t 60 line <&"$server_out"; do
    case "$line" in
        URL=*) url="${line#URL=}" ;;
        SHARE_DIR=*) share_dir="${line#SHARE_DIR=}" ;;
    esac
    if [ -n "$url" ] && [ -n "$share_dir" ]; then break; fi
done
[ -n "$url" ] && [ -n "$share_dir" ] || fail "the demo Samba server did not start"
# The throwaway server's password stays out of the output, as smb keeps every password.
echo "Samba: $(sed 's#//\([^:/@]*\):[^@]*@#//\1:***@#' <<<"$url")"

smb() {
    timeout 300 "$bin/smb" "$@"
}

server="${url%/share}"
echo "== smb shares"
smb shares "$server" || fail "smb shares"

# An odd size, big enough for the progress bar to be seen: many READ/WRITE requests and
# a short last one.
head -c $((64 * 1024 * 1024 + 12345)) /dev/urandom >"$work/demo.bin"
want="$(sha256sum <"$work/demo.bin" | cut -d' ' -f1)"

# -v: a summary line with the throughput after the transfer.
echo "== smb put (a progress bar, then the throughput)"
if [ -t 2 ]; then
    smb -v put "$work/demo.bin" "$url/demo.bin" || fail "smb put"
else
    # Not a terminal (a log): the bar forced on, and only its last frame kept.
    smb --progress -v put "$work/demo.bin" "$url/demo.bin" 2>"$work/put.err" ||
        { cat "$work/put.err"; fail "smb put"; }
    tr '\r' '\n' <"$work/put.err" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' >"$work/put.txt"
    grep -a 'ETA' "$work/put.txt" | tail -n 1
    grep -a '^put: ' "$work/put.txt" || fail "smb put -v printed no summary"
fi
[ -f "$share_dir/demo.bin" ] || fail "demo.bin is not on the server's disk"
[ "$(sha256sum <"$share_dir/demo.bin" | cut -d' ' -f1)" = "$want" ] ||
    fail "the server's copy differs"

echo "== smb ls -l"
smb ls -l "$url/" >"$work/ls.txt" || fail "smb ls"
cat "$work/ls.txt"
grep -q ' demo\.bin$' "$work/ls.txt" || fail "smb ls does not list demo.bin"
grep -q '64\.0 MiB' "$work/ls.txt" || fail "smb ls -l does not show the size in MiB"

echo "== smb get"
smb -v get "$url/demo.bin" "$work/back.bin" || fail "smb get"
smb cat "$url/demo.bin" >"$work/cat.bin" || fail "smb cat"

echo "== SHA-256"
printf '%s  local original\n' "$want"
for f in "$share_dir/demo.bin" "$work/back.bin" "$work/cat.bin"; do
    got="$(sha256sum <"$f" | cut -d' ' -f1)"
    printf '%s  %s\n' "$got" "$f"
    [ "$got" = "$want" ] || fail "$f: SHA-256 differs"
done

echo "== stopping Samba"
stop_samba
echo "PASS: shares, put, ls -l, get and cat of $(wc -c <"$work/demo.bin") bytes, SHA-256 $want"
