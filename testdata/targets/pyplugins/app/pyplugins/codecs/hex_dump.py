"""Hexadecimal bytes of the UTF-8 text."""

import binascii

NAME = "hex_dump"


def encode(text: str) -> str:
    return binascii.hexlify(text.encode(), " ").decode("ascii")
