"""lower case."""

NAME = "lower_case"


def encode(text: str) -> str:
    return text.lower()
