#!/usr/bin/env bash
# Deploy the faas-ts stack on this swarm (spec §5.1, like upstream's deploy_stack.sh):
# creates the basic-auth secrets (user admin, random password printed once), builds
# the images that are missing, deploys stack.yml as `func`, and waits for the gateway.
#
# usage: deploy/swarm/deploy.sh [--no-auth]
# env:   STACK (func), GATEWAY_PORT (8080), PROMETHEUS_PORT (9090), FAAS_TS_TAG (dev),
#        AUTH_SECRET_PREFIX (""; the secrets are <prefix>basic-auth-user / -password)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
stack=${STACK:-func}
export BASIC_AUTH=true
[ "${1:-}" = "--no-auth" ] || [ "${1:-}" = "-n" ] && export BASIC_AUTH=false
export GATEWAY_PORT=${GATEWAY_PORT:-8080}
export FUNCTIONS_NETWORK=${stack}_functions

[ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = active ] || docker swarm init --advertise-addr 127.0.0.1 >/dev/null
sp=${AUTH_SECRET_PREFIX:-}
if ! docker secret inspect "${sp}basic-auth-user" >/dev/null 2>&1; then
  printf admin | docker secret create "${sp}basic-auth-user" - >/dev/null
fi
if ! docker secret inspect "${sp}basic-auth-password" >/dev/null 2>&1; then
  password=$(head -c 16 /dev/urandom | sha256sum | cut -d' ' -f1)
  printf '%s' "$password" | docker secret create "${sp}basic-auth-password" - >/dev/null
  echo "[credentials] username: admin  password: $password"
  echo "  echo -n $password | faas-cli login --username=admin --password-stdin -g http://127.0.0.1:$GATEWAY_PORT"
fi

missing=()
for c in gateway provider-swarm queue-worker nats prometheus alertmanager; do
  docker image inspect "${FAAS_TS_IMAGE_PREFIX:-faas-ts}/$c:${FAAS_TS_TAG:-dev}" >/dev/null 2>&1 || missing+=("$c")
done
[ ${#missing[@]} -eq 0 ] || "$here/build-images.sh" "${missing[@]}"

# --resolve-image never: the images exist only on this node (no registry).
docker stack deploy --resolve-image never -c "$here/stack.yml" "$stack"
# Ready = the gateway task is running (its healthcheck passed) and the port answers
# (checking the port alone could be fooled by another process on it).
ready() {
  [ -n "$(docker service ps -q --filter desired-state=running "${stack}_gateway" | xargs -r docker inspect --format '{{.Status.State}}' | grep -x running)" ] &&
    curl -sf -m 1 "http://127.0.0.1:$GATEWAY_PORT/healthz" >/dev/null
}
for i in $(seq 1 300); do ready && break; sleep 0.2; done
ready || { echo "gateway did not start on :$GATEWAY_PORT" >&2; docker stack ps "$stack" --no-trunc >&2; exit 1; }
echo "gateway: http://127.0.0.1:$GATEWAY_PORT"
