"""Per-token request limits of the bulk API, counted in Redis (shared by all web workers).

A fixed window per caller (the token's user, or the address of an anonymous caller): beyond
`SPECIMEN_BULK_RATE_LIMIT` requests in a window the API answers 429 with `Retry-After`, the
seconds until the window ends. Bulk clients are limited separately from interactive users, who
never touch these endpoints.
"""

import math
import time

import redis
from flask import current_app

_clients: dict[str, redis.Redis] = {}


def _redis() -> redis.Redis:
    url = current_app.config["RATELIMIT_STORAGE_URI"]
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url)
    return _clients[url]


def hit(caller: str, now: float | None = None) -> int | None:
    """Count one request of `caller`; None when allowed, else the seconds to wait."""
    limit, window = current_app.config["SPECIMEN_BULK_RATE_LIMIT"]
    now = time.time() if now is None else now
    window_start = int(now // window) * window
    key = f"specimen-bulk-rate:{caller}:{window_start}"
    pipe = _redis().pipeline()
    pipe.incr(key)
    pipe.expire(key, window + 1)
    count, _ = pipe.execute()
    if count <= limit:
        return None
    return max(1, math.ceil(window_start + window - now))
