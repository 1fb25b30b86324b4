"""CSV export of one item: a header line and one record."""

import csv
import io

MEDIA_TYPE = "text/csv"

FIELDS = ["id", "name", "category", "price", "quantity", "tags"]


def render(item: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    writer.writerow([item["id"], item["name"], item["category"], item["price"],
                     item["quantity"], ";".join(item["tags"])])
    return out.getvalue()
