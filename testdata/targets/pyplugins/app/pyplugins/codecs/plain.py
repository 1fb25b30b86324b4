"""The text as it is (the default codec, imported at start-up)."""

NAME = "plain"


def encode(text: str) -> str:
    return text
