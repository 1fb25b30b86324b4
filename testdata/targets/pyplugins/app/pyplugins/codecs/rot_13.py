"""ROT13: letters rotated by 13 places."""

import string

NAME = "rot_13"
_TABLE = str.maketrans(
    string.ascii_lowercase + string.ascii_uppercase,
    string.ascii_lowercase[13:] + string.ascii_lowercase[:13]
    + string.ascii_uppercase[13:] + string.ascii_uppercase[:13],
)


def encode(text: str) -> str:
    return text.translate(_TABLE)
