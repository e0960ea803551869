"""Background jobs on RQ; run inline when no Redis is configured.

Jobs take ids (and the tenant id), never ORM objects, and must be idempotent:
RQ delivers at least once. Enqueue after the commit that created the work.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

_app: Flask | None = None


def init_app(app: Flask) -> None:
    global _app
    _app = app
    app.extensions["advocate_jobs"] = {"inline": not app.config.get("REDIS_URL")}


def redis_connection():
    from redis import Redis

    return Redis.from_url(current_app.config["REDIS_URL"])


def queue(name: str = "default"):
    from rq import Queue

    return Queue(name, connection=redis_connection())


def is_inline() -> bool:
    return current_app.extensions["advocate_jobs"]["inline"]


def enqueue(func: Callable, *args, queue_name: str = "default", retry: int = 3, **kwargs):
    """Run `func(*args)` in a worker (or now, inline). Returns the RQ job or None."""
    if is_inline():
        func(*args, **kwargs)
        return None
    from rq import Retry

    return queue(queue_name).enqueue(
        run_in_app,
        func.__module__ + ":" + func.__qualname__,
        *args,
        retry=Retry(max=retry, interval=[5, 15, 60]),
        **kwargs,
    )


def run_in_app(func_path: str, *args, **kwargs):
    """Worker entry point: import the function, run it inside an app context."""
    import importlib

    module_name, _, qualname = func_path.partition(":")
    func = importlib.import_module(module_name)
    for part in qualname.split("."):
        func = getattr(func, part)
    app = _app
    if app is None:
        from advocate import create_app

        app = create_app()
    with app.app_context():
        return func(*args, **kwargs)
