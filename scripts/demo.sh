#!/usr/bin/env bash
# End-to-end demo of the `smb` CLI against a private Samba on loopback: put a file, list
# the share, get and cat it back, and compare SHA-256 sums (also of the copy on the
# server's disk). Prints PASS or FAIL and exits 0 or 1.
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
echo "Samba: $url"

smb() {
    timeout 300 "$bin/smb" "$@"
}

# An odd size over a few MiB: several READ/WRITE requests and a short last one.
head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom >"$work/demo.bin"
want="$(sha256sum <"$work/demo.bin" | cut -d' ' -f1)"

smb put "$work/demo.bin" "$url/demo.bin" || fail "smb put"
[ -f "$share_dir/demo.bin" ] || fail "demo.bin is not on the server's disk"
[ "$(sha256sum <"$share_dir/demo.bin" | cut -d' ' -f1)" = "$want" ] ||
    fail "the server's copy differs"

smb ls "$url/" >"$work/ls.txt" || fail "smb ls"
cat "$work/ls.txt"
grep -q 'demo\.bin' "$work/ls.txt" || fail "smb ls does not list demo.bin"

smb get "$url/demo.bin" "$work/back.bin" || fail "smb get"
[ "$(sha256sum <"$work/back.bin" | cut -d' ' -f1)" = "$want" ] || fail "smb get: SHA-256 differs"

smb cat "$url/demo.bin" >"$work/cat.bin" || fail "smb cat"
[ "$(sha256sum <"$work/cat.bin" | cut -d' ' -f1)" = "$want" ] || fail "smb cat: SHA-256 differs"

stop_samba
echo "PASS: put, ls, get and cat of $(wc -c <"$work/demo.bin") bytes, SHA-256 $want"
