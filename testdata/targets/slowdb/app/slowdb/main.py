"""slowdb: orders and their items, each query waiting on a (simulated) database."""

from typing import List, Optional

from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, Field

from slowdb.db import Table

app = FastAPI(title="slowdb", version="1.0.0")
orders = Table()


class OrderIn(BaseModel):
    customer: str = Field(..., min_length=1, max_length=40)
    amount: int = Field(..., ge=0, le=100000)
    tags: List[str] = Field(default_factory=list, max_items=5)
    express: bool = False


class Order(OrderIn):
    id: int


class Health(BaseModel):
    status: str


class Stats(BaseModel):
    orders: int
    total: int
    express: int


@app.get("/health", response_model=Health)
async def health():
    # A health check that asks the database, as most do: latency-bound too.
    await orders.query()
    return {"status": "ok"}


@app.get("/orders", response_model=List[Order])
async def list_orders(limit: int = Query(10, ge=1, le=100), offset: int = Query(0, ge=0), tag: Optional[str] = None):
    return await orders.scan(limit, offset, tag)


@app.post("/orders", response_model=Order, status_code=201)
async def create_order(order: OrderIn):
    if order.express and order.amount == 0:
        # a free express order is refused by the "database"
        raise HTTPException(status_code=409, detail="express orders must cost something")
    return await orders.insert(order.dict())


@app.get("/orders/{order_id}", response_model=Order)
async def get_order(order_id: int):
    row = await orders.get(order_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such order")
    return row


@app.delete("/orders/{order_id}", status_code=204)
async def delete_order(order_id: int):
    if await orders.delete(order_id) is None:
        raise HTTPException(status_code=404, detail="no such order")


@app.get("/orders/{order_id}/receipt")
async def receipt(order_id: int, format: str = Query("text", regex="^(text|json)$")):
    row = await orders.get(order_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such order")
    if format == "json":
        return {"order": row["id"], "amount": row["amount"]}
    return {"text": f"order {row['id']}: {row['amount']} for {row['customer']}"}


@app.get("/stats", response_model=Stats)
async def stats():
    rows = await orders.scan(1 << 30, 0)
    return {"orders": len(rows), "total": sum(r["amount"] for r in rows), "express": sum(1 for r in rows if r["express"])}
