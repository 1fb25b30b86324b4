"""1337 5p34k."""

NAME = "leet_speak"
_TABLE = str.maketrans("aeiostAEIOST", "431057431057")


def encode(text: str) -> str:
    return text.translate(_TABLE)
