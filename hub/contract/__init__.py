"""The MQTT contract every part follows: its names, its payload models, parse and encode."""
