#!/usr/bin/env bash
# A headless browser for the report test (`drill report` opened in Debian's chromium).
# On Debian as root: install it from Debian's packages if missing. Elsewhere: say how.
set -euo pipefail

if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; then
  printf 'setup: installing chromium from Debian'"'"'s packages (for the report test)\n' >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends chromium >/dev/null
  exit 0
fi
printf 'setup: no chromium; install it (Debian: apt-get install chromium) to run the report test\n' >&2
exit 1
