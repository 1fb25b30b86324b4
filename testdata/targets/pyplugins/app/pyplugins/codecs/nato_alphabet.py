"""Spelt with the NATO phonetic alphabet."""

NAME = "nato_alphabet"
_WORDS = dict(zip("abcdefghijklmnopqrstuvwxyz", (
    "Alfa Bravo Charlie Delta Echo Foxtrot Golf Hotel India Juliett Kilo Lima Mike November "
    "Oscar Papa Quebec Romeo Sierra Tango Uniform Victor Whiskey X-ray Yankee Zulu").split()))


def encode(text: str) -> str:
    return " ".join(_WORDS[c] for c in text.lower() if c in _WORDS)
