"""Paging arguments and page envelopes shared by every list of the API and UI."""
from flask import current_app, request

from fleet import errors


def int_arg(name, default=None, lo=None, hi=None):
    """An integer query argument within lo..hi; BadRequest names it when it is not."""
    text = request.args.get(name)
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except ValueError:
        raise errors.BadRequest("%s must be an integer" % name) from None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise errors.BadRequest("%s must be within %s..%s" % (name, lo, hi))
    return value


def limit_arg():
    """The page size asked for (?limit=), within the configured maximum."""
    return int_arg("limit", current_app.config["PAGE_SIZE"], 1, current_app.config["MAX_PAGE_SIZE"])


def envelope(items, limit, cursor_name, key="id"):
    """A page of items fetched with limit + 1: {"ok", "items", "next": {cursor: value} or None}."""
    more = len(items) > limit
    items = items[:limit]
    nxt = {cursor_name: items[-1][key]} if more and items else None
    return {"ok": True, "items": items, "limit": limit, "next": nxt}
