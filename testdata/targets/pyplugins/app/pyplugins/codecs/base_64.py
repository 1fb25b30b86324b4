"""Base64 of the UTF-8 text."""

import base64

NAME = "base_64"


def encode(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")
