"""What the pure modules need from MicroPython, with stand-ins under CPython.

The signal path, calibration, payloads, outbox, fallback timer and command
checks also run under CPython (the host's `sitless demo` drives simulated
chairs through them), so they import these names from here instead of from
`micropython` and `time` directly.
"""

try:
    from micropython import const  # pyright: ignore[reportAssignmentType] - the stand-in below has no type
except ImportError:  # CPython

    def const(value):
        return value


try:
    from time import ticks_add, ticks_diff  # pyright: ignore[reportAssignmentType] - as above
except ImportError:  # CPython: callers pass plain, never-wrapping milliseconds

    def ticks_diff(new, old):
        return new - old

    def ticks_add(ticks, delta):
        return ticks + delta
