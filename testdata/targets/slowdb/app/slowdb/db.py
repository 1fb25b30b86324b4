"""A table kept in memory behind an asynchronous wait: the round trip a real
database would cost, during which the event loop serves other requests."""

import asyncio
import os

# Seconds each query waits; SLOWDB_LATENCY_MS overrides the 5 ms default.
LATENCY = float(os.environ.get("SLOWDB_LATENCY_MS", "5")) / 1000


class Table:
    def __init__(self):
        self.rows = {}
        self.next_id = 1

    async def query(self):
        await asyncio.sleep(LATENCY)

    async def insert(self, row):
        await self.query()
        row = dict(row, id=self.next_id)
        self.rows[self.next_id] = row
        self.next_id += 1
        return row

    async def get(self, row_id):
        await self.query()
        return self.rows.get(row_id)

    async def delete(self, row_id):
        await self.query()
        return self.rows.pop(row_id, None)

    async def scan(self, limit, offset, tag=None):
        await self.query()
        rows = [r for r in self.rows.values() if tag is None or tag in r.get("tags", [])]
        return rows[offset : offset + limit]
