"""The database connection: one pool per process, made on first use."""
import os
import threading
from contextlib import contextmanager

import psycopg2
import psycopg2.extras
import psycopg2.pool

_pool = None
_lock = threading.Lock()


class Unavailable(Exception):
    pass


def _get_pool():
    global _pool
    with _lock:
        if _pool is None:
            url = os.environ.get("DATABASE_URL")
            if not url:
                raise Unavailable("DATABASE_URL is not set")
            try:
                _pool = psycopg2.pool.ThreadedConnectionPool(1, 8, url)
            except psycopg2.OperationalError as e:
                raise Unavailable(str(e).strip()) from e
        return _pool


@contextmanager
def cursor():
    pool = _get_pool()
    conn = pool.getconn()
    try:
        with conn:
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                yield cur
    finally:
        pool.putconn(conn)
