#!/bin/sh
# Grafana's start in docker-compose.yml: refuse a placeholder admin password (compose
# already refuses an empty one), read the read-only InfluxDB token the `influxdb-tokens`
# service provisioned (/run/influxdb/token) for the provisioned data source, then run
# Grafana's own start script. GRAFANA_RUN and PROVISIONED_TOKEN_FILE name others (tests).
set -eu
case "${GF_SECURITY_ADMIN_PASSWORD:-}" in
  "" | admin | change-me* | your-*)
    echo "grafana: GRAFANA_ADMIN_PASSWORD is empty or a placeholder; set your own in .env" >&2
    exit 1 ;;
esac
token_file=${PROVISIONED_TOKEN_FILE:-/run/influxdb/token}
if [ -z "${INFLUX_TOKEN:-}" ]; then
  [ -r "$token_file" ] || {
    echo "grafana: no InfluxDB token at $token_file (the influxdb-tokens service makes it)" >&2
    exit 1
  }
  INFLUX_TOKEN=$(cat "$token_file")
  export INFLUX_TOKEN
fi
exec "${GRAFANA_RUN:-/run.sh}" "$@"
