"""Renderers: one module per renderer, each with render(title) -> str. Imported on first use."""
