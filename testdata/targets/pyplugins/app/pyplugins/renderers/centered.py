"""The title centred on 60 columns."""

import textwrap


def render(title: str) -> str:
    return "\n".join(line.center(60) for line in textwrap.wrap(title, 60) or [""]) + "\n"
