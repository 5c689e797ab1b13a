#!/bin/bash
# Runs once, when the InfluxDB container sets itself up: map the bucket to a
# v1 database of the same name, so Grafana can query it in InfluxQL.
set -euo pipefail
bucket_id=${DOCKER_INFLUXDB_INIT_BUCKET_ID:-}
if [ -z "$bucket_id" ]; then
    bucket_id=$(influx bucket list --org "$DOCKER_INFLUXDB_INIT_ORG" \
        --name "$DOCKER_INFLUXDB_INIT_BUCKET" --hide-headers | cut -f1)
fi
influx v1 dbrp create --org "$DOCKER_INFLUXDB_INIT_ORG" --bucket-id "$bucket_id" \
    --db "$DOCKER_INFLUXDB_INIT_BUCKET" --rp autogen --default
