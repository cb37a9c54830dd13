#!/usr/bin/env bash
# Sets up what the tests need on a fresh machine (npm packages, SIPp) and runs lint and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v sipp >/dev/null 2>&1; then
  echo "sipp not found: installing Debian package sip-tester" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq sip-tester >/dev/null
fi

if ! command -v svmap >/dev/null 2>&1; then
  echo "svmap not found: installing Debian package sipvicious (security attack tests)" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq sipvicious >/dev/null
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "chromium not found: installing Debian package chromium (dashboard browser tests)" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

if [ ! -x /usr/bin/rtpengine ]; then
  echo "rtpengine not found: installing Debian package rtpengine-daemon (media backend tests, media benchmark peer)" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # Userspace only: the tests start it by hand on loopback (--table=-1); no kernel module, no service.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends rtpengine-daemon >/dev/null
  # Where systemd runs, the package starts its service: stop it, the tests run their own.
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now rtpengine-daemon >/dev/null 2>&1 || true; fi
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run lint
npm test
