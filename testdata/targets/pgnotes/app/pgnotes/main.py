"""pgnotes: notes kept in PostgreSQL, rendered with templates chosen by request."""
import pathlib
import re
import string
from typing import List, Optional

from fastapi import FastAPI, HTTPException, Query, Response
from pydantic import BaseModel, Field

from . import db

TEMPLATES = pathlib.Path(__file__).parent / "templates"
FORMAT = re.compile(r"^[a-z0-9]{1,10}$")

app = FastAPI(title="pgnotes", version="1.0")


class NoteIn(BaseModel):
    title: str = Field(..., min_length=1, max_length=80)
    body: str = Field("", max_length=2000)
    tag: str = Field("misc", regex=r"^[a-z]{1,12}$")


class Note(NoteIn):
    id: int


class Rendered(BaseModel):
    id: int
    format: str
    text: str


class TagCount(BaseModel):
    tag: str
    count: int


def query(sql, args=()):
    try:
        with db.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else cur.rowcount
    except db.Unavailable as e:
        raise HTTPException(503, f"database unavailable: {e}")


@app.get("/health")
def health():
    return {"ok": True}


@app.get("/notes", response_model=List[Note])
def list_notes(tag: Optional[str] = Query(None, regex=r"^[a-z]{1,12}$"), limit: int = Query(20, ge=1, le=100)):
    if tag:
        return query("SELECT id, title, body, tag FROM notes WHERE tag = %s ORDER BY id LIMIT %s", (tag, limit))
    return query("SELECT id, title, body, tag FROM notes ORDER BY id LIMIT %s", (limit,))


@app.post("/notes", response_model=Note, status_code=201)
def create_note(note: NoteIn):
    rows = query("INSERT INTO notes (title, body, tag) VALUES (%s, %s, %s) RETURNING id, title, body, tag",
                 (note.title, note.body, note.tag))
    return rows[0]


@app.get("/notes/{note_id}", response_model=Note)
def get_note(note_id: int):
    rows = query("SELECT id, title, body, tag FROM notes WHERE id = %s", (note_id,))
    if not rows:
        raise HTTPException(404, "no such note")
    return rows[0]


@app.delete("/notes/{note_id}", status_code=204)
def delete_note(note_id: int):
    if query("DELETE FROM notes WHERE id = %s", (note_id,)) == 0:
        raise HTTPException(404, "no such note")
    return Response(status_code=204)


@app.get("/notes/{note_id}/render", response_model=Rendered)
def render_note(note_id: int, format: str = Query("txt", max_length=10)):
    if not FORMAT.match(format):
        raise HTTPException(400, "bad format")
    tmpl = TEMPLATES / f"{format}.tmpl"
    if not tmpl.exists():
        raise HTTPException(404, f"no template for {format}")
    note = get_note(note_id)
    text = string.Template(tmpl.read_text()).safe_substitute(note)
    return {"id": note_id, "format": format, "text": text}


@app.get("/tags", response_model=List[TagCount])
def tags():
    return query("SELECT tag, count(*)::int AS count FROM notes GROUP BY tag ORDER BY tag")


@app.get("/search", response_model=List[Note])
def search(q: str = Query(..., min_length=1, max_length=40)):
    return query("SELECT id, title, body, tag FROM notes WHERE title ILIKE %s OR body ILIKE %s ORDER BY id LIMIT 20",
                 (f"%{q}%", f"%{q}%"))
