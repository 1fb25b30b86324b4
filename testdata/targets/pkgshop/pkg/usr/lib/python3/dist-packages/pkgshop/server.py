"""The console script's entry point: gunicorn with pre-fork workers."""

import argparse
import os

from gunicorn.app.base import BaseApplication

from pkgshop.app import create_app


class ShopServer(BaseApplication):
    def __init__(self, app, options):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application


def main(argv=None):
    parser = argparse.ArgumentParser(prog="pkgshop")
    parser.add_argument("--bind", default="0.0.0.0:8000")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--max-requests", type=int, default=int(os.environ.get("PKGSHOP_MAX_REQUESTS", "0")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("PKGSHOP_THREADS", "1")))
    args = parser.parse_args(argv)
    options = {
        "bind": args.bind,
        "workers": args.workers,
        "worker_class": "gthread" if args.threads > 1 else "sync",
        "threads": args.threads,
        "max_requests": args.max_requests,
        "max_requests_jitter": args.max_requests // 10,
        "timeout": 30,
        "accesslog": None,
    }
    ShopServer(create_app(), options).run()
    return 0
