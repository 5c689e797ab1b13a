"""The fleet seen over MQTT: every desk's info and status, and remote commands to chairs."""
