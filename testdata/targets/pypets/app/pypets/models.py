"""Request and answer models (pydantic 1, as in Debian bookworm)."""

from datetime import datetime
from enum import Enum
from typing import List, Optional

from pydantic import BaseModel, confloat, conint, constr


class Category(str, Enum):
    tools = "tools"
    toys = "toys"
    food = "food"
    books = "books"


class ExportFormat(str, Enum):
    json = "json"
    csv = "csv"
    xml = "xml"


class ItemIn(BaseModel):
    name: constr(min_length=1, max_length=40)
    category: Category
    price: confloat(ge=0, le=10000)
    quantity: conint(ge=0, le=1000)
    tags: List[str] = []

    class Config:
        extra = "forbid"
        use_enum_values = True


class Item(BaseModel):
    id: int
    name: str
    category: Category
    price: float
    quantity: int
    tags: List[str]
    createdAt: datetime
    updatedAt: Optional[datetime] = None


class ItemPage(BaseModel):
    items: List[Item]
    hasMore: bool


class Health(BaseModel):
    status: str
    version: str


class Error(BaseModel):
    detail: str
