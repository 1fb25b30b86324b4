"""The title in a box."""

def render(title: str) -> str:
    edge = "+" + "-" * (len(title) + 2) + "+"
    return f"{edge}\n| {title} |\n{edge}\n"
