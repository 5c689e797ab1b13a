#!/bin/sh
# Make sure the hub's logins (its own and its discovery's) and the healthcheck's
# exist in the password file before the broker starts (all use MQTT_HUB_PASSWORD;
# the ACL lets "_health" read nothing but the broker's uptime), and Home
# Assistant's when it has a password.
# Chairs are added by hand with mosquitto_passwd (docs/stack.md); their entries
# live in the same file on the data volume and survive restarts.
set -eu
passwd_file=/mosquitto/data/passwd
if [ -z "${MQTT_HUB_PASSWORD:-}" ]; then
    echo "mosquitto: MQTT_HUB_PASSWORD is not set" >&2
    exit 2
fi
touch "$passwd_file"
mosquitto_passwd -b "$passwd_file" _hub "$MQTT_HUB_PASSWORD"
mosquitto_passwd -b "$passwd_file" _health "$MQTT_HUB_PASSWORD"
mosquitto_passwd -b "$passwd_file" _discovery "$MQTT_HUB_PASSWORD"
# Home Assistant's login, when .env gives it a password; without one it is removed,
# so a password taken out of .env stops working.
if [ -n "${MQTT_HOMEASSISTANT_PASSWORD:-}" ]; then
    mosquitto_passwd -b "$passwd_file" _homeassistant "$MQTT_HOMEASSISTANT_PASSWORD"
elif grep -q "^_homeassistant:" "$passwd_file"; then
    mosquitto_passwd -D "$passwd_file" _homeassistant
fi
chown mosquitto:mosquitto "$passwd_file"
chmod 0700 "$passwd_file"
exec mosquitto -c /mosquitto/config/mosquitto.conf
