"""sWAP cASE."""

NAME = "swap_case"


def encode(text: str) -> str:
    return text.swapcase()
