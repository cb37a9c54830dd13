#!/usr/bin/env bash
# Sets up what the tests need on a fresh machine (npm packages, Debian tools) and runs lint and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
UPDATED=""

# need COMMAND PACKAGE WHY [APT-FLAGS]: installs the Debian package when the command is missing.
need() {
  if [ -x "$1" ] || command -v "$1" >/dev/null 2>&1; then return; fi
  echo "$1 not found: installing Debian package $2 ($3)" >&2
  if [ -z "$UPDATED" ]; then $SUDO apt-get update -qq; UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ${4:-} "$2" >/dev/null
}

need sipp sip-tester "PBX and carrier in the call tests"
need svmap sipvicious "security attack tests"
need /usr/bin/chromium chromium "dashboard browser tests"
need tshark tshark "SIP ladder PCAP checks"
need g++ g++ "building the native media I/O addon"
need make make "building the native media I/O addon"
need python3 python3 "node-gyp, building the native media I/O addon"
if [ ! -x /usr/bin/rtpengine ]; then
  # Userspace only: the tests start it by hand on loopback (--table=-1); no kernel module, no service.
  need /usr/bin/rtpengine rtpengine-daemon "media backend tests, media benchmark peer" --no-install-recommends
  # Where systemd runs, the package starts its service: stop it, the tests run their own.
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now rtpengine-daemon >/dev/null 2>&1 || true; fi
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run lint
npm test
