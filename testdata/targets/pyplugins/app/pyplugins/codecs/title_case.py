"""Title Case For Every Word."""

NAME = "title_case"


def encode(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:].lower() for w in text.split(" "))
