"""JSON export of one item."""

import json

MEDIA_TYPE = "application/json"


def render(item: dict) -> str:
    doc = dict(item)
    for key in ("createdAt", "updatedAt"):
        if doc.get(key) is not None:
            doc[key] = doc[key].isoformat().replace("+00:00", "Z")
        else:
            doc.pop(key, None)
    return json.dumps(doc, sort_keys=True)
