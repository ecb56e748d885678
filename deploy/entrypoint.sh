#!/bin/sh
# The entrypoint of the heatpump-monitor image: `heatpump "$@"`, with the InfluxDB token the
# `influxdb-tokens` service provisioned for this container (docker-compose.yml mounts it at
# /run/influxdb/token: read and write for the collector, read-only for the bot) unless
# INFLUX_TOKEN is set (your own InfluxDB). PROVISIONED_TOKEN_FILE names another file (tests).
set -eu
token_file=${PROVISIONED_TOKEN_FILE:-/run/influxdb/token}
unset PROVISIONED_TOKEN_FILE
if [ -z "${INFLUX_TOKEN:-}" ] && [ -r "$token_file" ]; then
  INFLUX_TOKEN=$(cat "$token_file")
  export INFLUX_TOKEN
fi
exec heatpump "$@"
