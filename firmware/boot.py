# Runs before main.py on every boot. Nothing here: a mistake in boot.py is the
# one thing safe mode cannot skip, so all start-up logic lives in main.py.
