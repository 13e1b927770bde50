#!/usr/bin/env bash
# `make swarm-3` (not part of `make test`): a three-node swarm on this machine and a three-team game
# day on it. This engine becomes the swarm's manager (it runs drill's relays; the teams' stacks go
# to the workers); three workers are Docker engines in containers (drill/swarm-node, FROM drill's
# debootstrapped base with Debian's docker.io) on a bridge of their own. drill copies the stack's
# images into each worker (docker save | docker load) and places each team's stack on its own node.
# DRILL_HOME is a directory mounted at the same path in every worker (a shared volume, as NFS
# would be on real nodes), so the balancer's config is bind-mounted wherever its task runs.
# Everything made here is removed at the end, and this engine leaves the swarm it joined.
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${DRILL_IMAGE_TAG:-latest}
NODE_IMAGE=drill/swarm-node:$TAG
NET=drill-swarm3
HOME3=${DRILL_SWARM3_HOME:-/tmp/drill-swarm3-$$}
NODES=(drill-swarm3-node1 drill-swarm3-node2 drill-swarm3-node3)

state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" != inactive ]; then
    echo "swarm-3: this Docker engine is already in a swarm ($state); run it where the engine is in none" >&2
    exit 2
fi

cleanup() {
    docker swarm leave --force >/dev/null 2>&1 || true
    docker rm -f "${NODES[@]}" >/dev/null 2>&1 || true
    docker network rm "$NET" >/dev/null 2>&1 || true
    rm -rf "$HOME3"
}
[ -n "${SWARM3_KEEP:-}" ] || trap cleanup EXIT   # SWARM3_KEEP=1: leave it up, print its settings (debugging)

echo "swarm-3: building $NODE_IMAGE (FROM drill/base:bookworm, with docker.io)"
docker build -q --label drill.image=true -t "$NODE_IMAGE" stack/images/swarm-node >/dev/null
docker network create --label drill.swarm3=true "$NET" >/dev/null
GATEWAY=$(docker network inspect -f '{{(index .IPAM.Config 0).Gateway}}' "$NET")
mkdir -p "$HOME3"

# Privileged would be simplest; a restricted host engine may refuse it ("unable to apply caps"),
# so every capability it has, no seccomp/AppArmor confinement, and a cgroup parent per node.
hosts=()
for node in "${NODES[@]}"; do
    docker run -d --name "$node" --hostname "${node#drill-swarm3-}" --label drill.swarm3=true --network "$NET" \
        --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
        --security-opt systempaths=unconfined -v /sys/fs/cgroup:/sys/fs/cgroup --tmpfs /run \
        -v "$HOME3:$HOME3" "$NODE_IMAGE" dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 \
        --storage-driver=vfs --tls=false "--cgroup-parent=/$node" >/dev/null
    ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$node")
    hosts+=("tcp://$ip:2375")
done
for host in "${hosts[@]}"; do
    for _ in $(seq 1 120); do docker -H "$host" info >/dev/null 2>&1 && break; sleep 0.5; done
    docker -H "$host" info >/dev/null
done

docker swarm init --advertise-addr "$GATEWAY" --listen-addr "$GATEWAY:2377" >/dev/null
token=$(docker swarm join-token -q worker)
for host in "${hosts[@]}"; do docker -H "$host" swarm join --token "$token" "$GATEWAY:2377" >/dev/null; done
for _ in $(seq 1 120); do
    [ "$(docker node ls --filter role=worker --format '{{.Status}}' | grep -c Ready)" = 3 ] && break
    sleep 0.5
done
docker node ls

if [ -n "${SWARM3_KEEP:-}" ]; then
    echo "export DRILL_RUNTIME=swarm DRILL_SWARM_NODES='${hosts[*]}' DRILL_HOME=$HOME3"
    exit 0
fi
DRILL_RUNTIME=swarm DRILL_SWARM_NODES="${hosts[*]}" DRILL_HOME="$HOME3" DRILL_DB="$HOME3/drill.db" \
    .venv/bin/python -m benchmarks.swarm3
