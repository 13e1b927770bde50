#!/usr/bin/env bash
# A headless browser for the browser tests: `drill report` opened in Debian's chromium, and the
# game day's room and team views driven through Selenium (which needs chromium-driver).
# On Debian as root: install them from Debian's packages if missing. Elsewhere: say how.
set -euo pipefail

have_browser() { command -v chromium >/dev/null || command -v chromium-browser >/dev/null; }
if have_browser && command -v chromedriver >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; then
  printf 'setup: installing chromium and chromium-driver from Debian'"'"'s packages (for the browser tests)\n' >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null
  exit 0
fi
printf 'setup: no chromium or chromedriver; install them (Debian: apt-get install chromium chromium-driver) to run the browser tests\n' >&2
exit 1
