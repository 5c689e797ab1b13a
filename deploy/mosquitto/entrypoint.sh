#!/bin/sh
# Make sure the hub's logins (its own and its discovery's) and the healthcheck's
# exist in the password file before the broker starts (all use the hub's MQTT
# password; the ACL lets "_health" read nothing but the broker's uptime), and Home
# Assistant's when it has a password and privacy is "desk".
# Secrets come from files (MQTT_HUB_PASSWORD_FILE, MQTT_HOMEASSISTANT_PASSWORD_FILE,
# e.g. compose secrets under /run/secrets) or, failing that, from the variables
# without _FILE.
# Chairs are added by hand with mosquitto_passwd (docs/stack.md); their entries
# live in the same file on the data volume and survive restarts.
set -eu
passwd_file=${MOSQUITTO_PASSWORD_FILE:-/mosquitto/data/passwd}
config_file=${MOSQUITTO_CONFIG_FILE:-/mosquitto/config/mosquitto.conf}

# secret NAME: the content of the file $NAME_FILE names, else $NAME, else empty.
secret() {
    eval "file=\${${1}_FILE:-}"
    if [ -n "$file" ]; then
        if [ ! -r "$file" ]; then
            echo "mosquitto: ${1}_FILE names a file that cannot be read" >&2
            exit 2
        fi
        tr -d '\r\n' <"$file"
    else
        eval "printf '%s' \"\${${1}:-}\""
    fi
}

hub_password=$(secret MQTT_HUB_PASSWORD)
if [ -z "$hub_password" ]; then
    echo "mosquitto: set MQTT_HUB_PASSWORD_FILE (or MQTT_HUB_PASSWORD)" >&2
    exit 2
fi
touch "$passwd_file"
mosquitto_passwd -b "$passwd_file" _hub "$hub_password"
mosquitto_passwd -b "$passwd_file" _health "$hub_password"
mosquitto_passwd -b "$passwd_file" _discovery "$hub_password"
# Home Assistant's login reads every desk (deploy/mosquitto/acl), so it exists only
# when its secret holds a password and privacy is "desk"; otherwise it is removed,
# so an emptied secrets/mqtt_homeassistant_password, or a switch to "aggregate",
# stops it working.
ha_password=$(secret MQTT_HOMEASSISTANT_PASSWORD)
if [ -n "$ha_password" ] && [ "${SITLESS_PRIVACY:-desk}" != "aggregate" ]; then
    mosquitto_passwd -b "$passwd_file" _homeassistant "$ha_password"
elif grep -q "^_homeassistant:" "$passwd_file"; then
    mosquitto_passwd -D "$passwd_file" _homeassistant
fi
if [ -n "$ha_password" ] && [ "${SITLESS_PRIVACY:-desk}" = "aggregate" ]; then
    echo "mosquitto: privacy is aggregate, so there is no _homeassistant login (docs/privacy.md)" >&2
fi
chown mosquitto:mosquitto "$passwd_file"
chmod 0700 "$passwd_file"
exec mosquitto -c "$config_file"
