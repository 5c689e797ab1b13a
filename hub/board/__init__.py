"""Host-side tools for a board on USB: flash, deploy, provision, calibrate, monitor, bridge."""
