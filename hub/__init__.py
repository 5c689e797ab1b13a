"""sitless hub: notices uninterrupted sitting, buzzes the chair, records the history."""

__all__ = ["__version__"]

__version__ = "0.1.0"
