"""Each module here adds one sub-command to ``sitless`` through ``register(subparsers)``."""
