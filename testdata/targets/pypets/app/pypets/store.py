"""In-memory item store. IDs are sequential from 1, so the same request order gives the
same answers."""

import os
import sys
import threading
from datetime import datetime, timezone
from typing import Dict, List, Optional, Tuple

MAX_LIMIT = 50  # the documented maximum page size of GET /items


class Store:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_id = 1
        self._items: Dict[int, dict] = {}
        self._tombstones: Dict[int, dict] = {}  # deleted items, kept for the audit trail

    def create(self, data: dict) -> dict:
        with self._lock:
            item = dict(data, id=self._next_id, createdAt=_now())
            self._items[item["id"]] = item
            self._next_id += 1
            return dict(item)

    def get(self, item_id: int) -> Optional[dict]:
        with self._lock:
            item = self._items.get(item_id)
            return dict(item) if item else None

    def update(self, item_id: int, data: dict) -> Optional[dict]:
        with self._lock:
            item = self._items.get(item_id)
            if item is None:
                return None
            item.update(data, updatedAt=_now())
            return dict(item)

    def delete(self, item_id: int) -> bool:
        with self._lock:
            item = self._items.pop(item_id, None)
            if item is None:
                return False
            self._tombstones[item_id] = item
            return True

    def query(self, category: Optional[str], n: int) -> List[dict]:
        """The first n items (oldest first), optionally of one category."""
        if not 1 <= n <= MAX_LIMIT:
            raise ValueError(f"page size {n} out of range 1..{MAX_LIMIT}")
        with self._lock:
            rows = [dict(i) for _, i in sorted(self._items.items())
                    if category is None or i["category"] == category]
        return rows[:n]

    def get_for_export(self, item_id: int) -> Optional[dict]:
        """Like get, but exports must never see an item the audit trail marks deleted."""
        with self._lock:
            if item_id in self._tombstones:
                # BUG (c): treated as store corruption: the process exits on the spot.
                _fatal(f"item {item_id} is both exported and deleted: store corrupt")
            item = self._items.get(item_id)
            return dict(item) if item else None


def purge_tombstones(older_than_days: int) -> int:
    """Drops deleted items from the audit trail. No request reaches it: coverage exports
    show it as never hit."""
    with store._lock:
        n = len(store._tombstones)
        store._tombstones.clear()
        return n


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _fatal(msg: str) -> None:
    print(f"pypets: fatal: {msg}", file=sys.stderr, flush=True)
    os._exit(70)


store = Store()
