"""HTTP routes of pypets. Start with: python3 -m uvicorn pypets.main:app --port 8000"""

import uuid
from typing import Optional

from fastapi import FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from . import __version__, exporters
from .models import Category, Error, ExportFormat, Health, Item, ItemIn, ItemPage
from .store import MAX_LIMIT, store

app = FastAPI(
    title="pypets",
    version=__version__,
    description="A small inventory service (whittle's Python fixture). Item IDs are "
    "sequential from 1; every answer carries a fresh X-Request-Id header.",
)

NOT_FOUND = {404: {"model": Error, "description": "No such item"}}


@app.middleware("http")
async def request_id(request: Request, call_next):
    response = await call_next(request)
    response.headers["X-Request-Id"] = uuid.uuid4().hex
    return response


def _item_or_404(item_id: int) -> dict:
    item = store.get(item_id)
    if item is None:
        raise HTTPException(status_code=404, detail=f"item {item_id} not found")
    return item


@app.get("/health", response_model=Health)
def health():
    return {"status": "ok", "version": __version__}


@app.get("/items", response_model=ItemPage, response_model_exclude_none=True)
def list_items(
    category: Optional[Category] = Query(None),
    limit: int = Query(20, ge=1, le=MAX_LIMIT),
):
    # One more row than asked tells whether there is a next page.
    rows = store.query(category.value if category else None, limit + 1)  # BUG (a) at limit=50
    return {"items": rows[:limit], "hasMore": len(rows) > limit}


@app.post(
    "/items",
    status_code=201,
    response_model=Item,
    response_model_exclude_none=True,
    responses={201: {"headers": {"Location": {
        "description": "Path of the new item", "schema": {"type": "string"}}}}},
)
def create_item(body: ItemIn, response: Response):
    item = store.create(body.dict())
    response.headers["Location"] = f"/items/{item['id']}"
    return item


@app.get("/items/{item_id}", response_model=Item, response_model_exclude_none=True,
         responses=NOT_FOUND)
def get_item(item_id: int = Path(..., ge=1)):
    item = _item_or_404(item_id)
    if item["quantity"] == 0:
        # BUG (b): sold-out items get a short summary that bypasses the response model:
        # price becomes a string, quantity and createdAt are missing.
        return JSONResponse({"id": item["id"], "name": item["name"],
                             "category": item["category"], "price": "sold out",
                             "tags": item["tags"]})
    return item


@app.put("/items/{item_id}", response_model=Item, response_model_exclude_none=True,
         responses=NOT_FOUND)
def update_item(body: ItemIn, item_id: int = Path(..., ge=1)):
    item = store.update(item_id, body.dict())
    if item is None:
        raise HTTPException(status_code=404, detail=f"item {item_id} not found")
    return item


@app.delete("/items/{item_id}", status_code=204, response_class=Response, responses=NOT_FOUND)
def delete_item(item_id: int = Path(..., ge=1)):
    if not store.delete(item_id):
        raise HTTPException(status_code=404, detail=f"item {item_id} not found")
    return Response(status_code=204)


@app.get(
    "/items/{item_id}/export",
    response_class=Response,
    responses={
        200: {
            "description": "The item in the requested format",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Item"}},
                "text/csv": {"schema": {"type": "string"}},
                "application/xml": {"schema": {"type": "string"}},
            },
        },
        **NOT_FOUND,
    },
)
def export_item(item_id: int = Path(..., ge=1),
                format: ExportFormat = Query(ExportFormat.json)):
    item = store.get_for_export(item_id)
    if item is None:
        raise HTTPException(status_code=404, detail=f"item {item_id} not found")
    exporter = exporters.load(format.value)  # imported on first use of this format
    return Response(content=exporter.render(item), media_type=exporter.MEDIA_TYPE)
