"""The MQTT transport: the hub's own client, its packets, and the one paho factory for tools."""
