#!/usr/bin/env bash
# Debian's PostgreSQL server programs, for the store tests' second backend: each test session
# starts a throwaway cluster of its own in a temp directory (tests/pgcluster.py) with initdb and
# pg_ctl from /usr/lib/postgresql/*/bin. No service is started by the package: drill runs its own.
# On Debian as root: install it if missing. Elsewhere: say how.
set -euo pipefail

if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null \
  && command -v runuser >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; then
  printf 'setup: installing postgresql from Debian'"'"'s packages (for the PostgreSQL store tests)\n' >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The package would start its own cluster's service: policy-rc.d refuses every start.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -qq --no-install-recommends postgresql util-linux >/dev/null
  exit 0
fi
printf 'setup: no PostgreSQL server programs; install them (Debian: apt-get install postgresql) to run the PostgreSQL tests\n' >&2
exit 1
