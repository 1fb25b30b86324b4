"""What changes from the text to its sorted letters, as difflib opcodes."""

import difflib

NAME = "diff_marks"


def encode(text: str) -> str:
    ops = difflib.SequenceMatcher(a=text, b="".join(sorted(text))).get_opcodes()
    return ",".join(f"{tag[0]}{i1}-{i2}" for tag, i1, i2, _, _ in ops if tag != "equal")
