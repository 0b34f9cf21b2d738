"""Helpers for the shims that answer a list in pages, as AWS does where moto answers it whole (not a
shim of its own).

`page(items, token, size)` is the page of `items` a request with `token` (absent: the first page) and
page size `size` gets, with the opaque token of the next page, or `None` on the last one.
"""

from base64 import b64decode, b64encode

TOKEN_PREFIX = "mamori-offset-"


def _offset(token):
    return int(b64decode(token).decode().removeprefix(TOKEN_PREFIX)) if token else 0


def page(items, token, size):
    start = _offset(token)
    following = start + size
    next_token = b64encode(f"{TOKEN_PREFIX}{following}".encode()).decode() if following < len(items) else None
    return items[start:following], next_token


def install():
    """Nothing to install: other shims use these helpers."""
