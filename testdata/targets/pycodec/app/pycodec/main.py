"""pycodec: text encoded with a codec the request names."""
import codecs

from fastapi import FastAPI, HTTPException, Query

app = FastAPI(title="pycodec", version="1.0.0")


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/encode")
def encode(
    text: str = Query("hello", max_length=200),
    codec: str = Query("utf-8", max_length=40, example="utf-8", description="a codec name, e.g. utf-8"),
):
    try:
        info = codecs.lookup(codec)
    except LookupError:
        raise HTTPException(status_code=400, detail="unknown encoding")
    try:
        data = info.encode(text)[0]
    except (TypeError, ValueError):
        # Bytes-to-bytes codecs (hex, base64) take no text; unencodable text.
        raise HTTPException(status_code=422, detail="cannot encode this text with " + info.name)
    if isinstance(data, str):
        data = data.encode("utf-8")
    return {"codec": info.name, "hex": data.hex()}
