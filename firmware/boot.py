"""Empty on purpose: safe mode cannot skip boot.py, so nothing may run here."""
