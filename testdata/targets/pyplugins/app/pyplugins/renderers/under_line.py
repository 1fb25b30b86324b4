"""The title underlined with '-'."""

def render(title: str) -> str:
    return f"{title}\n{'-' * len(title)}\n"
