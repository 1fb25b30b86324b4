"""The text backwards."""

NAME = "reverse"


def encode(text: str) -> str:
    return text[::-1]
