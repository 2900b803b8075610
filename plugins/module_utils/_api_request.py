# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""The generic API call of api_request: check the input, then one request or every page."""

from __future__ import annotations

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError

ACCOUNT_PLACEHOLDER = "{account_id}"


def plan_request(params):
    """``{method, path, query, body}`` from the module's options, or InvalidInputError before any call."""
    method = params["method"]
    body = params["body"]
    paginate = params["paginate"]
    if method is None:
        if body is not None:
            raise InvalidInputError("body is set but method is not: a write must name its method (POST, PUT, PATCH or DELETE)")
        method = "GET"
    if method == "GET" and body is not None:
        raise InvalidInputError("body is set with method GET: Cloudflare's GET endpoints take no body (use query)")
    if paginate != "none" and method != "GET":
        raise InvalidInputError("paginate=%s reads a list: it needs method GET, got %s" % (paginate, method))
    if params["page_size"] < 1:
        raise InvalidInputError("page_size must be at least 1, got %d" % params["page_size"])
    path = params["path"] or ""
    if not path.startswith("/") or "://" in path:
        raise InvalidInputError("path must start with / and be below api_base_url (for example /zones), got %r" % path)
    if "?" in path:
        raise InvalidInputError("path must not carry a query string; give the parameters in query")
    if ACCOUNT_PLACEHOLDER in path:
        if not params["account_id"]:
            raise InvalidInputError("path has {account_id} but account_id is not set: set it or CLOUDFLARE_ACCOUNT_ID")
        path = path.replace(ACCOUNT_PLACEHOLDER, params["account_id"])
    query = {str(key): value for key, value in (params["query"] or {}).items()}
    return {"method": method, "path": path, "query": query, "body": body}


def send_request(client, request, paginate, page_size, page_size_param):
    """The module result of ``request``: ``result`` (all items when paginated), ``result_info``, ``messages``."""
    if paginate == "page":
        return {"result": client.list_pages(request["path"], params=request["query"], per_page=page_size)}
    if paginate == "cursor":
        return {"result": client.list_cursor(request["path"], params=request["query"], limit=page_size,
                                             limit_param=page_size_param)}
    envelope = client.request(request["method"], request["path"], params=request["query"] or None,
                              json=request["body"])
    result = {"result": envelope.get("result"), "messages": envelope.get("messages") or []}
    if envelope.get("result_info") is not None:
        result["result_info"] = envelope["result_info"]
    return result
