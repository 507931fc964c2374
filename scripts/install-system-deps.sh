#!/usr/bin/env bash
# Installs the system packages nerco-webgpu needs on Debian bookworm (run as root):
#   Mesa's lavapipe Vulkan driver ≥ 25 from bookworm-backports (Dawn rejects bookworm's own 22.3),
#   and, with --browser, Debian's Chromium for the browser tests and the demo.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

need_update=1
apt_update() { if [ $need_update = 1 ]; then apt-get update -q; need_update=0; fi; }

if ! dpkg -s mesa-vulkan-drivers 2>/dev/null | grep -q '^Version: 2[5-9]'; then
  if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    uri=${uri:-$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)}
    [ -n "$uri" ] || { echo "install-system-deps: no Debian source found to derive the backports URI from" >&2; exit 1; }
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" \
      > /etc/apt/sources.list.d/backports.sources
  fi
  apt_update
  apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers
fi
dpkg -s libvulkan1 >/dev/null 2>&1 || { apt_update; apt-get install -y -q libvulkan1; }
if [ $want_browser = 1 ] && [ ! -x /usr/bin/chromium ]; then
  apt_update
  apt-get install -y -q chromium
fi
