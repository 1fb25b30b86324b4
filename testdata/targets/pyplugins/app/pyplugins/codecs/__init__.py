"""Codecs: one module per codec, each with NAME and encode(text) -> str. Imported on first use."""
