#!/usr/bin/env bash
# One command from a fresh clone to an enhanced picture: system packages (as root), npm ci,
# build, then the CLI on the bundled sample → out/sample-enhanced.png.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
if [ "$(id -u)" = 0 ]; then bash scripts/install-system-deps.sh; else sudo bash scripts/install-system-deps.sh; fi
npm ci --no-audit --no-fund
npm run build
mkdir -p out
npx nerco-webgpu enhance samples/dark-street.png -o out/sample-enhanced.png --force
echo "Enhanced samples/dark-street.png → out/sample-enhanced.png"
