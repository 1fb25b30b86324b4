"""Atbash: the alphabet mirrored (a<->z)."""

import string

NAME = "atbash"
_TABLE = str.maketrans(
    string.ascii_lowercase + string.ascii_uppercase,
    string.ascii_lowercase[::-1] + string.ascii_uppercase[::-1],
)


def encode(text: str) -> str:
    return text.translate(_TABLE)
