"""Creates the schema and the first notes; run once before the service starts."""
import os
import sys
import time

import psycopg2

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id    serial PRIMARY KEY,
    title text NOT NULL,
    body  text NOT NULL DEFAULT '',
    tag   text NOT NULL DEFAULT 'misc'
);
"""

SEED = [
    ("Welcome", "Notes live in PostgreSQL.", "intro"),
    ("Groceries", "milk, eggs, bread", "home"),
    ("Standup", "ten o'clock, room 4", "work"),
]


def main():
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("migrate: DATABASE_URL is not set")
    for attempt in range(50):
        try:
            conn = psycopg2.connect(url)
            break
        except psycopg2.OperationalError as e:
            last = e
            time.sleep(0.2)
    else:
        sys.exit(f"migrate: cannot connect: {last}")
    with conn, conn.cursor() as cur:
        cur.execute(SCHEMA)
        cur.execute("SELECT count(*) FROM notes")
        if cur.fetchone()[0] == 0:
            cur.executemany("INSERT INTO notes (title, body, tag) VALUES (%s, %s, %s)", SEED)
    print(f"migrate: schema ready, {len(SEED)} notes seeded")


if __name__ == "__main__":
    main()
