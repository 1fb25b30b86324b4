"""pkgshop: a small shop, packaged the Debian way."""

__version__ = "1.0"
