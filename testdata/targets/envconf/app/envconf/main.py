"""envconf: a service that only starts configured.

ENVCONF_TOKEN (environment) guards /admin; /etc/envconf/config.json (mounted) names the
site and the default language. Greetings come from messages/LANG.txt, notes from the
mounted /etc/envconf/notes/NAME.txt.
"""
import json
import os
import pathlib
import re
import sys

from fastapi import FastAPI, Header, HTTPException, Query

CONFIG = pathlib.Path("/etc/envconf/config.json")
MESSAGES = pathlib.Path(__file__).parent / "messages"
NOTES = pathlib.Path("/etc/envconf/notes")

TOKEN = os.environ.get("ENVCONF_TOKEN")
if not TOKEN:
    sys.exit("envconf: ENVCONF_TOKEN is not set: refusing to start")
try:
    config = json.loads(CONFIG.read_text())
except OSError as e:
    sys.exit(f"envconf: cannot read {CONFIG}: {e}")
if config.get("placeholder"):
    sys.exit(f"envconf: {CONFIG} is the image's placeholder: mount your configuration over /etc/envconf")

app = FastAPI(title="envconf", version="1.0")
NAME = re.compile(r"^[a-z]{1,20}$")


@app.get("/health")
def health():
    return {"ok": True}


@app.get("/site")
def site():
    return {"site": config["site"], "default_lang": config["default_lang"]}


@app.get("/greet")
def greet(name: str = Query("world", max_length=40), lang: str = Query(None, max_length=8)):
    lang = lang or config["default_lang"]
    if not NAME.match(lang):
        raise HTTPException(400, "bad language")
    path = MESSAGES / f"{lang}.txt"
    if not path.exists():
        raise HTTPException(404, f"no greeting in {lang}")
    return {"lang": lang, "text": path.read_text().strip() % name}


@app.get("/notes/{name}")
def note(name: str):
    if not NAME.match(name):
        raise HTTPException(400, "bad note name")
    path = NOTES / f"{name}.txt"
    if not path.exists():
        raise HTTPException(404, "no such note")
    return {"name": name, "text": path.read_text().strip()}


@app.get("/notes")
def notes():
    names = sorted(p.stem for p in NOTES.glob("*.txt"))
    return {"notes": names[: int(config.get("max_notes", 10))]}


@app.get("/admin")
def admin(x_token: str = Header(None)):
    if x_token != TOKEN:
        raise HTTPException(403, "bad token")
    return {"admin": True, "site": config["site"]}
