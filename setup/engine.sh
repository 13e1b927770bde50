#!/usr/bin/env bash
# Make sure a Docker engine answers, compose runs and debootstrap exists.
# On Debian as root: install what is missing from Debian's packages and start dockerd.
# Elsewhere: stop with a message saying how to get an engine.
set -euo pipefail

log() { printf 'setup: %s\n' "$*" >&2; }
engine_answers() { python3 - <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
try:
    s.connect("/var/run/docker.sock")
    s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
    sys.exit(0 if b"200 OK" in s.recv(200) else 1)
except OSError:
    sys.exit(1)
PY
}

is_root_debian() { [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; }

if [ -n "${DOCKER_HOST:-}" ]; then
  log "DOCKER_HOST=$DOCKER_HOST is set: using that engine as it is"
  exit 0
fi

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || need+=(docker-compose)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v iptables >/dev/null || need+=(iptables)
command -v docker-init >/dev/null || [ -x /usr/bin/docker-init ] || need+=(tini)
# The balancers' own config checks, for `drill audit --validate` (haproxy -c, nginx -t); no daemon is started.
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
# The TLS tests make a self-signed certificate with it.
command -v openssl >/dev/null || need+=(openssl)

if [ ${#need[@]} -gt 0 ]; then
  if is_root_debian; then
    log "installing from Debian's packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # No service may start from a package's install scripts (haproxy, nginx): drill runs its own.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    rm -f /usr/sbin/policy-rc.d
  elif engine_answers && [[ " ${need[*]} " != *" docker-compose "* ]]; then
    log "not installed (not root on Debian): ${need[*]}; a local base image and \`drill audit --validate\` need them"
  else
    log "missing: ${need[*]}. drill needs a Docker engine and compose:"
    log "  Debian/Ubuntu: sudo apt-get install docker.io docker-compose debootstrap && sudo systemctl start docker"
    log "  elsewhere: https://docs.docker.com/engine/install/ (then re-run make setup)"
    exit 1
  fi
fi

if ! engine_answers; then
  if [ "$(id -u)" != 0 ]; then
    log "no Docker engine answers at /var/run/docker.sock; start it (sudo systemctl start docker) and re-run"
    exit 1
  fi
  if [ -d /run/systemd/system ] && systemctl start docker 2>/dev/null; then
    log "started docker with systemd"
  else
    log "starting dockerd in the background (log: /var/log/drill-dockerd.log)"
    nohup setsid dockerd >/var/log/drill-dockerd.log 2>&1 < /dev/null &
  fi
  for _ in $(seq 1 120); do
    engine_answers && break
    sleep 0.5
  done
  if ! engine_answers; then
    log "dockerd did not answer within 60s; last lines of /var/log/drill-dockerd.log:"
    tail -n 5 /var/log/drill-dockerd.log >&2 || true
    exit 1
  fi
fi
log "Docker engine answers"
