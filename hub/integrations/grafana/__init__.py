"""Grafana for sitless: the dashboards shipped in ``dashboards/``, expanded and pushed.

``expand`` turns a panel's InfluxQL into the text Grafana would send to
InfluxDB for a given time range and variable selection, so the dashboards'
queries can be run and checked without a Grafana server. ``push`` sends the
dashboards and their datasource to a running Grafana.
"""
