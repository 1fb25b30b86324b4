"""HTTP routes of pyplugins. Start with: python3 -m uvicorn pyplugins.main:app --port 8000"""

import pkgutil
from typing import List

from fastapi import FastAPI, HTTPException, Path, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, constr

from . import __version__, codecs, plugins, renderers

app = FastAPI(
    title="pyplugins",
    version=__version__,
    description="Text conversion with plugin codecs and renderers (whittle's fixture). "
    "Codec and renderer names are case-insensitive; '-' stands for '_'.",
)

# The default codec is imported at start-up: the import system lists the codecs package
# then, once. The renderers are counted at start-up (pkgutil lists their package).
DEFAULT_CODEC = plugins.load(codecs.__name__, "plain")
RENDERERS = sum(1 for m in pkgutil.iter_modules(renderers.__path__) if not m.name.startswith("_"))

NOT_FOUND = {404: {"description": "No such codec or renderer"}}


class Health(BaseModel):
    status: str
    version: str
    renderers: int


class Converted(BaseModel):
    codec: str
    text: str


class BatchIn(BaseModel):
    codec: constr(min_length=1, max_length=40)
    texts: List[constr(max_length=200)]


class BatchOut(BaseModel):
    codec: str
    texts: List[str]


def _codec(name: str):
    mod = plugins.load(codecs.__name__, name)
    if mod is None:
        raise HTTPException(status_code=404, detail=f"unknown codec: {name}")
    return mod


@app.get("/health", response_model=Health)
def health():
    return {"status": "ok", "version": __version__, "renderers": RENDERERS}


@app.get("/convert", response_model=Converted, responses=NOT_FOUND)
def convert(codec: str = Query(..., min_length=1, max_length=40,
                               description="Name of the codec; case-insensitive"),
            text: str = Query("hello", max_length=200)):
    mod = _codec(codec)
    return {"codec": mod.NAME, "text": mod.encode(text)}


@app.post("/batch", response_model=BatchOut, responses=NOT_FOUND)
def batch(body: BatchIn):
    mod = _codec(body.codec)
    return {"codec": mod.NAME, "texts": [mod.encode(t) for t in body.texts]}


@app.get("/render/{renderer}", response_class=PlainTextResponse, responses={
    200: {"description": "The title rendered", "content": {"text/plain": {"schema": {"type": "string"}}}},
    **NOT_FOUND,
})
def render(renderer: str = Path(..., min_length=1, max_length=40),
           title: str = Query("Title", max_length=80),
           codec: str = Query(DEFAULT_CODEC.NAME, max_length=40)):
    mod = plugins.load(renderers.__name__, renderer)
    if mod is None:
        raise HTTPException(status_code=404, detail=f"unknown renderer: {renderer}")
    return mod.render(_codec(codec).encode(title))
