#!/bin/sh
# Least-privilege InfluxDB tokens for heatpump-monitor, made on the first start (the
# `influxdb-tokens` service of docker-compose.yml runs this once per `docker compose up`, in
# the influxdb:2.7 image, with its `influx` CLI):
#
#   collector: read and write on the bucket      -> /tokens/collector/token
#   bot:       read on the bucket                -> /tokens/bot/token
#   grafana:   read on the bucket                -> /tokens/grafana/token
#
# Each token file sits in a volume of its own that only its container mounts (read-only),
# owned by the user that container runs as, mode 0400. Nothing else gets the admin token.
# A token whose file and authorization both exist is kept; a lost one is replaced (the
# InfluxDB authorization of the old one is deleted), so running this again is harmless.
#
# Environment (set by docker-compose.yml): INFLUX_HOST, INFLUX_TOKEN (the admin token, used
# here only), INFLUX_ORG, ADMIN_USER, BUCKET, APP_UID, APP_GID, GRAFANA_UID; TOKENS_DIR
# (default /tokens).
set -eu

fail() {
  echo "influxdb-tokens: $*" >&2
  exit 1
}

: "${INFLUX_HOST:?}" "${INFLUX_ORG:?}" "${ADMIN_USER:?}" "${BUCKET:?}"
: "${APP_UID:?}" "${APP_GID:?}" "${GRAFANA_UID:?}"
TOKENS_DIR=${TOKENS_DIR:-/tokens}
case "${INFLUX_TOKEN:-}" in
  "" | change-me* | your-*)
    fail "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN is empty or a placeholder; set a long random" \
      "value in .env (openssl rand -hex 32) before the first start" ;;
esac

# The first "id" of the bucket's JSON is the bucket's own (influx bucket list --json).
bucket_id=$(influx bucket list --org "$INFLUX_ORG" --name "$BUCKET" --json \
  | sed -n 's/^ *"id": *"\([0-9a-f]*\)".*/\1/p' | head -n 1)
[ -n "$bucket_id" ] || fail "bucket $BUCKET not found in organization $INFLUX_ORG"

# IDs of the authorizations with description $1 (influx auth list --json prints "id" before
# "description" in each object).
auth_ids() {
  influx auth list --org "$INFLUX_ORG" --json | awk -v want="\"$1\"," '
    $1 == "\"id\":" { id = $2; gsub(/[",]/, "", id) }
    $1 == "\"description\":" && $2 == want { print id }'
}

# provision NAME OWNER influx-auth-create-permission-flags...
provision() {
  name=$1
  owner=$2
  shift 2
  description="heatpump-monitor-$name"
  file="$TOKENS_DIR/$name/token"
  existing=$(auth_ids "$description")
  if [ -s "$file" ] && [ -n "$existing" ]; then
    echo "influxdb-tokens: $name token kept"
    return 0
  fi
  for id in $existing; do  # its token file is gone: the token cannot be read back
    influx auth delete --id "$id" >/dev/null
  done
  token=$(influx auth create --org "$INFLUX_ORG" --user "$ADMIN_USER" \
    --description "$description" "$@" --json \
    | sed -n 's/^ *"token": *"\([^"]*\)".*/\1/p')
  [ -n "$token" ] || fail "could not create the $name token"
  mkdir -p "$TOKENS_DIR/$name"
  (umask 077 && printf '%s' "$token" > "$file.tmp")
  chown "$owner" "$file.tmp"
  chmod 0400 "$file.tmp"
  mv -f "$file.tmp" "$file"
  echo "influxdb-tokens: $name token created"
}

provision collector "$APP_UID:$APP_GID" --read-bucket "$bucket_id" --write-bucket "$bucket_id"
provision bot "$APP_UID:$APP_GID" --read-bucket "$bucket_id"
provision grafana "$GRAFANA_UID:0" --read-bucket "$bucket_id"
