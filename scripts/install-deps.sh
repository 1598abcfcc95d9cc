#!/usr/bin/env bash
# Installs what the test suite needs on Debian: Samba's smbd and smbclient (the integration
# tests' server and reference client), Samba's VFS modules (shadow copies), the tools the
# harness calls (useradd, kill), util-linux's script (the CLI's terminal tests), attr's
# setfattr/getfattr (stream and EA tests), what the Kerberos tests' private AD DC needs
# (test-server's SambaDc) and, if it can, tshark (capture-based tests).
# Idempotent: when everything is there it changes nothing and needs no network.
set -euo pipefail

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-deps: not root and no sudo; install samba and smbclient by hand" >&2
        exit 1
    fi
fi

# An executable file, not a shell builtin (`kill` is both); sbin directories are missing
# from PATH in some non-login shells.
have() {
    type -P "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}
installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

required=()
have smbd || required+=(samba)
# nmbd (the NetBIOS name service tests), smbstatus and net (session and privilege tests).
have nmbd || required+=(samba)
have smbstatus || required+=(samba)
have net || required+=(samba-common-bin)
have smbclient || required+=(smbclient)
installed samba-vfs-modules || required+=(samba-vfs-modules)
have useradd || required+=(passwd)
have kill || required+=(procps)
# `script` runs the CLI under a pseudo-terminal in its tests (progress bars, the prompt).
have script || required+=(bsdutils)
# setfattr and getfattr: the stream and extended-attribute tests check the share's files.
{ have setfattr && have getfattr; } || required+=(attr)
# The Kerberos tests' AD DC: `samba` itself (its KDC), samba-tool with the provisioning
# templates and the directory's LDB modules (both only Recommends of samba), winbindd (a
# package of its own on Debian), nss_wrapper (points the DC's smbd at its private winbindd:
# without the two every login fails with INTERNAL_ERROR) and MIT's kinit/klist, the reference
# client. krb5-user asks for a default realm through debconf: DEBIAN_FRONTEND below keeps it
# from asking.
have samba || required+=(samba)
have samba-tool || required+=(samba-common-bin)
installed samba-ad-provision || required+=(samba-ad-provision)
installed samba-dsdb-modules || required+=(samba-dsdb-modules)
have winbindd || required+=(winbind)
installed libnss-wrapper || required+=(libnss-wrapper)
{ have kinit && have klist && have kvno; } || required+=(krb5-user)

if [ ${#required[@]} -eq 0 ] && have tshark; then
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
if [ ${#required[@]} -gt 0 ]; then
    echo "install-deps: installing ${required[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${required[@]}"
fi
if ! have tshark; then
    # Only the capture-based tests need it: go on without it.
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q tshark ||
        echo "install-deps: warning: tshark could not be installed" >&2
fi

for tool in smbd nmbd smbstatus net smbclient script setfattr getfattr samba samba-tool winbindd \
    kinit klist kvno; do
    have "$tool" || { echo "install-deps: $tool still missing" >&2; exit 1; }
done
