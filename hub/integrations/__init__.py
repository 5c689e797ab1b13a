"""Other systems the hub talks to: Home Assistant, Grafana, notifications."""
