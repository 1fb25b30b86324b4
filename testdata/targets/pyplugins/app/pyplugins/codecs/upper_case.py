"""UPPER CASE."""

NAME = "upper_case"


def encode(text: str) -> str:
    return text.upper()
