#!/bin/sh
# Build a Debian 13 (trixie) root with GIMP 3 and Krita 5.2 for the plug-in tests, once per machine.
#
#   sh tests/gimp/build_root.sh [ROOT]     (default /var/tmp/scribbleseg-gimp-root; needs root)
#
# Debian 12 only packages GIMP 2.10, so GIMP 3 runs in this separate root; the machine's own apt
# sources stay untouched. The root is reused while its stamp file matches PACKAGES below.
# Needs `debootstrap` on the host (apt-get install debootstrap).
set -eu

ROOT="${1:-${SCRIBBLESEG_GIMP_ROOT:-/var/tmp/scribbleseg-gimp-root}}"
MIRROR="${SCRIBBLESEG_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The GIMP plug-in needs gimp + python3-gi + the GIMP typelib (no numpy in the root); Krita 5.2
# with its Python (python3-pyqt5) runs the Krita tests beside the machine's Krita 5.1;
# dbus-daemon gives GIMP's window a private session bus (dbus-run-session).
PACKAGES="gimp python3-gi gir1.2-gimp-3.0 krita python3-pyqt5 dbus-daemon"
STAMP="$ROOT/.scribbleseg-root-ready"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PACKAGES" ]; then
    echo "GIMP root ready: $ROOT"
    exit 0
fi
command -v debootstrap >/dev/null || { echo "needs debootstrap: apt-get install debootstrap" >&2; exit 1; }

echo "Building the GIMP root in $ROOT (a few minutes, about 800 MB)"
rm -rf "$ROOT"
mkdir -p "$(dirname "$ROOT")"
debootstrap --variant=minbase trixie "$ROOT" "$MIRROR"
unshare --mount --propagation private -- sh -c "
    mount -t proc proc '$ROOT/proc'
    mount --bind /dev '$ROOT/dev'
    chroot '$ROOT' /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive sh -c '
            apt-get update &&
            apt-get install -y --no-install-recommends $PACKAGES &&
            apt-get clean'
"
echo "$PACKAGES" > "$STAMP"
echo "GIMP root ready: $ROOT"
