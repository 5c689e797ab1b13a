"""The sitless chair firmware; see firmware/README.md."""

import sys


def unload(name):
    """Forget a module used only now and then, to give its RAM back until the next time."""
    sys.modules.pop("sitless." + name, None)
    package = sys.modules.get("sitless")
    if package is not None and hasattr(package, name):
        delattr(package, name)
