#!/bin/sh
# Makes the secrets docker-compose.yml reads, one file each under ./secrets/
# (or the folder given). The folder is yours alone (0700); the files in it are
# 0644, because compose mounts each file as it is into its container, where the
# service's own user (Grafana's, the hub's) must read it. A file that exists is kept, so
# running it again only fills in what is missing. Each gets a random value; the
# status page's admin password is kept in status_admin_password for you to read,
# and only its scrypt hash (status_admin_password_hash) goes to the hub.
# Needs python3 (for the random values and the hash).
set -eu
dir=${1:-secrets}
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"

random() {
    python3 -c 'import secrets; print(secrets.token_urlsafe(32))'
}

for name in mqtt_hub_password mqtt_homeassistant_password influxdb_admin_password \
    influxdb_admin_token grafana_admin_password status_admin_password; do
    if [ ! -s "$dir/$name" ]; then
        random >"$dir/$name"
        echo "made $dir/$name"
    fi
done

if [ ! -s "$dir/status_admin_password_hash" ]; then
    # The same scrypt format as `sitless user hash`.
    python3 - "$dir/status_admin_password" >"$dir/status_admin_password_hash" <<'EOF'
import base64
import hashlib
import os
import sys


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


with open(sys.argv[1], encoding="utf-8") as handle:
    password = handle.read().strip()
salt = os.urandom(16)
digest = hashlib.scrypt(password.encode(), salt=salt, n=1 << 14, r=8, p=1, dklen=32)
print(f"scrypt$14$8$1${b64(salt)}${b64(digest)}")
EOF
    echo "made $dir/status_admin_password_hash (sign in as admin with $dir/status_admin_password)"
fi
chmod 0644 "$dir"/*
