import json


def export(items):
    return "".join(json.dumps(i, sort_keys=True) + "\n" for i in items), "application/x-ndjson"
