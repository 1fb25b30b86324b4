"""pypets: whittle's Python fixture, a small inventory service on FastAPI."""

__version__ = "0.9.1"
