"""Page-style pagination (``page``/``per_page``) as Cloudflare's list endpoints do it."""
import math


def page_window(req, default_per_page, min_per_page, max_per_page):
    """``(page, per_page)`` from the query, bounds checked with Cloudflare's error."""
    page = req.int_arg("page", 1, minimum=1)
    per_page = req.int_arg("per_page", default_per_page, minimum=min_per_page, maximum=max_per_page)
    return page, per_page


def paginate(items, page, per_page):
    """``(page_items, result_info)`` for a full list of items."""
    total = len(items)
    chunk = items[(page - 1) * per_page: page * per_page]
    info = {
        "page": page,
        "per_page": per_page,
        "count": len(chunk),
        "total_count": total,
        "total_pages": max(1, math.ceil(total / per_page)) if per_page else 1,
    }
    return chunk, info


def direction_arg(req, default="asc"):
    direction = (req.arg("direction") or default).lower()
    return direction if direction in ("asc", "desc") else default
