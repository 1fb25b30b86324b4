"""The title between rules of '='."""

def render(title: str) -> str:
    rule = "=" * max(len(title), 1)
    return f"{rule}\n{title}\n{rule}\n"
