"""The sitless chair firmware; see firmware/README.md."""

import sys


def unload(name):
    """Forget a module used only now and then, to give its RAM back until the next time."""
    sys.modules.pop("sitless." + name, None)
    package = sys.modules.get("sitless")
    if package is not None and hasattr(package, name):
        delattr(package, name)


def call(name, function, *args):
    """Load `sitless.<name>` for one call of its `function`, then drop it again (`unload`).

    One helper instead of a wrapper method per use: each function costs RAM of its own.
    A coroutine it returns keeps the module's code alive until it ends.
    """
    module = __import__("sitless." + name, None, None, (function,))
    try:
        return getattr(module, function)(*args)
    finally:
        unload(name)
