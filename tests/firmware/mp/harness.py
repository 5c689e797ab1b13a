# Shared by the scripts in this folder, which run under the MicroPython unix
# port (and, for the pure modules, CPython too): run the test functions named
# on the command line and print PASS for each.
import sys


def run(names):
    for name in sys.argv[1:]:
        names[name]()
        print("PASS", name)


class Noise:
    """Deterministic noise, identical under every interpreter (a small LCG)."""

    def __init__(self, amplitude, seed=12345):
        self.amplitude = amplitude
        self.state = seed

    def __call__(self):
        self.state = (self.state * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.state % (2 * self.amplitude + 1)) - self.amplitude
