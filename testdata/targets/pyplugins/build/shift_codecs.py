"""Writes the shift_N codecs (Caesar shifts 1..25) into the codecs package: a plugin family
generated at build time, as generated code often is. Run once by the Dockerfile."""

import pathlib
import sys

TEMPLATE = '''"""Caesar shift by {n}: letters moved {n} places along the alphabet (generated)."""

import string

NAME = "shift_{n}"
_L, _U = string.ascii_lowercase, string.ascii_uppercase
_TABLE = str.maketrans(_L + _U, _L[{n}:] + _L[:{n}] + _U[{n}:] + _U[:{n}])


def encode(text: str) -> str:
    return text.translate(_TABLE)
'''

out = pathlib.Path(sys.argv[1])
for n in range(1, 26):
    (out / f"shift_{n}.py").write_text(TEMPLATE.format(n=n))
