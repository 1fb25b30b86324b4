"""Exporters, imported by name."""
