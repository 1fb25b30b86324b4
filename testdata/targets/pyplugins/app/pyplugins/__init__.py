"""pyplugins: whittle's fixture for request values that name modules of a plugin package."""

__version__ = "1.2.0"
