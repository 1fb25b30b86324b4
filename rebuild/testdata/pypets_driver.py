# A stand-in for whittle's tracer in rebuild's fixture test: runs pypets
# in-process inside its fat image, exercises every operation (both lazy
# export formats included), then prints the files the process used: its
# executable, every module's source and bytecode, and every mapped object.
import json, os, runpy, sys, threading, time, urllib.error, urllib.request

sys.path.insert(0, "/app")
import uvicorn

srv = uvicorn.Server(uvicorn.Config("pypets.main:app", host="127.0.0.1", port=8000, log_level="warning"))
threading.Thread(target=srv.run, daemon=True).start()
base = "http://127.0.0.1:8000"
for _ in range(200):
    try:
        urllib.request.urlopen(base + "/health")
        break
    except Exception:
        time.sleep(0.1)


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, method=method, data=data, headers={"Content-Type": "application/json"})
    try:
        return urllib.request.urlopen(req).status
    except urllib.error.HTTPError as e:
        return e.code


call("GET", "/openapi.json")
call("GET", "/items")
call("POST", "/items", {"name": "Ball", "category": "toys", "price": 3.5, "quantity": 2})
for fmt in ("json", "csv", "xml"):
    call("GET", "/items/1/export?format=" + fmt)
call("GET", "/items/1")
call("GET", "/items/999")

files = {sys.executable}
for m in list(sys.modules.values()):
    for attr in ("__file__", "__cached__"):
        f = getattr(m, attr, None)
        if isinstance(f, str) and f.startswith("/") and f != __file__:
            files.add(f)
with open("/proc/self/maps") as maps:
    for line in maps:
        parts = line.split()
        if len(parts) >= 6 and parts[5].startswith("/"):
            files.add(parts[5])
print(json.dumps(sorted(files)))
