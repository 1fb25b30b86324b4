"""Igpay atinlay."""

NAME = "pig_latin"
_VOWELS = "aeiouAEIOU"


def _word(w: str) -> str:
    if not w.isalpha():
        return w
    if w[0] in _VOWELS:
        return w + "way"
    i = next((i for i, c in enumerate(w) if c in _VOWELS), len(w))
    return w[i:] + w[:i] + "ay"


def encode(text: str) -> str:
    return " ".join(_word(w) for w in text.split(" "))
