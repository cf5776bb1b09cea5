#!/usr/bin/env bash
# Installs the Debian packages Clearway needs when they are missing: the CJK font embedded in
# label PDFs, poppler (pdftoppm) for label previews and tests, and Chromium for browser tests.
set -euo pipefail
want=()
[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || want+=(fonts-wqy-zenhei)
command -v pdftoppm >/dev/null || want+=(poppler-utils)
if [ "${1:-}" = "--test" ]; then
  command -v chromium >/dev/null || want+=(chromium)
fi
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${want[*]} — install them with: sudo apt-get install ${want[*]}" >&2
  exit 1
fi
echo "installing ${want[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >/dev/null
