"""A Markdown heading."""

def render(title: str) -> str:
    return f"# {title}\n"
