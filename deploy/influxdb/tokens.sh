#!/bin/sh
# One InfluxDB token per job, made with the operator token, which nothing else
# gets: the hub's may read and write the sitless bucket (it writes the history
# and reads it back for a person's last days), Grafana's may only read it.
# Each token is written into its own volume (/tokens/hub, /tokens/grafana),
# which only that job mounts. A token already there is kept; delete its volume
# (docker volume rm) and run `docker compose up` again to make a new one.
set -eu
org=${INFLUXDB_ORG:?}
bucket=${INFLUXDB_BUCKET:?}
if [ ! -r "${INFLUX_TOKEN_FILE:?}" ]; then
    echo "tokens: INFLUX_TOKEN_FILE names a file that cannot be read" >&2
    exit 2
fi
INFLUX_TOKEN=$(tr -d '\r\n' <"$INFLUX_TOKEN_FILE")
export INFLUX_TOKEN
bucket_id=$(influx bucket list --org "$org" --name "$bucket" --hide-headers | cut -f1)
if [ -z "$bucket_id" ]; then
    echo "tokens: no bucket $bucket in org $org" >&2
    exit 2
fi

# make JOB FLAGS...: a token for JOB with those permissions, unless it has one.
make() {
    job=$1
    shift
    out=/tokens/$job/token
    if [ -s "$out" ]; then
        echo "tokens: $job keeps its token"
        return
    fi
    token=$(influx auth create --org "$org" --description "sitless $job" "$@" --json |
        sed -n 's/^ *"token": *"\([^"]*\)".*/\1/p')
    if [ -z "$token" ]; then
        echo "tokens: InfluxDB made no token for $job" >&2
        exit 1
    fi
    umask 0222
    printf '%s' "$token" >"$out.new"
    mv "$out.new" "$out"
    echo "tokens: made $job's token"
}

make hub --read-bucket "$bucket_id" --write-bucket "$bucket_id"
make grafana --read-bucket "$bucket_id"
