"""The catalog and the orders, with branches a fuzzer has to find.

Answers depend on the request alone: the pre-fork workers share no state,
so an order's id is derived from its content.
"""

import zlib

ITEMS = [
    {"id": 1, "name": "teapot", "category": "kitchen", "price": 24.0},
    {"id": 2, "name": "kettle", "category": "kitchen", "price": 31.5},
    {"id": 3, "name": "lamp", "category": "living", "price": 45.0},
    {"id": 4, "name": "rug", "category": "living", "price": 120.0},
    {"id": 5, "name": "trowel", "category": "garden", "price": 9.0},
]

def list_items(category=None, limit=10):
    items = ITEMS
    if category:
        items = [i for i in items if i["category"] == category]
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return items[:limit]


def get_item(item_id):
    for item in ITEMS:
        if item["id"] == item_id:
            return item
    return None


def discount(code, total):
    if code == "SPRING":
        return round(total * 0.15, 2)
    if code == "BULK" and total >= 100:
        return 20.0
    return 0.0


def create_order(body):
    item = get_item(body.get("item_id")) if isinstance(body.get("item_id"), int) else None
    if item is None:
        return None, "unknown item"
    qty = body.get("qty")
    if not isinstance(qty, int) or qty < 1 or qty > 50:
        return None, "qty must be 1 to 50"
    total = item["price"] * qty
    saved = discount(body["coupon"], total) if isinstance(body.get("coupon"), str) else 0.0
    key = "%d/%d/%s" % (item["id"], qty, body.get("coupon"))
    order = {"id": zlib.crc32(key.encode()), "item_id": item["id"], "qty": qty, "total": round(total - saved, 2), "saved": saved}
    return order, None


def never_called():
    """Reached by no request: coverage reports must show it as never hit."""
    return "planted unreachable function"
