"""An HTML heading, escaped."""

import html


def render(title: str) -> str:
    return f"<h1>{html.escape(title)}</h1>\n"
