"""The title as a JSON document."""

import json


def render(title: str) -> str:
    return json.dumps({"title": title}) + "\n"
