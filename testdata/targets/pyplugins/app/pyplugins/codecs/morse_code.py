"""Morse code; letters and digits only, words separated by " / "."""

NAME = "morse_code"
_CODE = dict(zip(
    "abcdefghijklmnopqrstuvwxyz0123456789",
    ".- -... -.-. -.. . ..-. --. .... .. .--- -.- .-.. -- -. --- .--. --.- .-. ... - ..- "
    "...- .-- -..- -.-- --.. ----- .---- ..--- ...-- ....- ..... -.... --... ---.. ----.".split(),
))


def encode(text: str) -> str:
    words = text.lower().split()
    return " / ".join(" ".join(_CODE[c] for c in w if c in _CODE) for w in words)
