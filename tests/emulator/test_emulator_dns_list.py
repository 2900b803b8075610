"""DNS lists paged in SQL: every order, direction, filter and page agrees with sorting and filtering the whole zone."""
import itertools

import pytest

from emulator.api.zones import zone_id_for


@pytest.fixture
def path(account_id):
    return "/zones/%s/dns_records" % zone_id_for(account_id, "example.com")


def _zone(api, path):
    posts = []
    for index in range(40):
        record = {"type": ("A", "TXT", "CNAME")[index % 3], "name": "n%02d" % (index % 17 if index % 3 != 2 else 50 + index),
                  "ttl": (1, 300, 120)[index % 3 if index % 5 else 0], "comment": "c%d" % (index % 2) if index % 4 else None,
                  "tags": ["team:%s" % ("web", "db")[index % 2], "tier:gold"][: 1 + index % 2]}
        if record["type"] == "A":
            record["content"] = "192.0.2.%d" % (index + 1)
            record["proxied"] = index % 2 == 0
        elif record["type"] == "TXT":
            record["content"] = "text %d" % (index % 4)
        else:
            record["content"] = "target%d.example.net" % index
        posts.append({k: v for k, v in record.items() if v is not None})
    response = api.post(path + "/batch", json={"posts": posts})
    assert response.status_code == 200, response.text
    return api.get(path, params={"per_page": 1000}).json()["result"]


def _expected(records, order, direction, **filters):
    def matches(view):
        checks = []
        if "name" in filters:
            checks.append(view["name"] == filters["name"])
        if "type" in filters:
            checks.append(view["type"] == filters["type"])
        if "proxied" in filters:
            checks.append(view["proxied"] == (filters["proxied"] == "true"))
        if "comment" in filters:
            checks.append(view.get("comment") == filters["comment"])
        if "tag" in filters:
            checks.append(any(t == filters["tag"] or t.split(":", 1)[0] == filters["tag"] for t in view["tags"]))
        return not checks or (any(checks) if filters.get("match") == "any" else all(checks))
    chosen = [r for r in records if matches(r)]
    return sorted(chosen, key=lambda v: (v[order], v["name"], v["type"], v["content"], v["id"]), reverse=direction == "desc")


@pytest.mark.parametrize("filters", [
    {}, {"type": "TXT"}, {"tag": "team"}, {"tag": "team:db"}, {"tag": "tier"}, {"comment": "c1"}, {"proxied": "true"},
    {"type": "A", "tag": "tier:gold"}, {"type": "CNAME", "comment": "c0", "match": "any"}, {"name": "n03.example.com"},
])
def test_pages_agree_with_the_whole_zone_sorted(api, path, filters):
    records = _zone(api, path)
    assert len(records) == 40
    for order, direction in itertools.product(("type", "name", "content", "ttl", "proxied"), ("asc", "desc")):
        expected = [r["id"] for r in _expected(records, order, direction, **filters)]
        got = []
        for page in itertools.count(1):
            answer = api.get(path, params=dict(filters, order=order, direction=direction, per_page=7, page=page)).json()
            info = answer["result_info"]
            assert (info["total_count"], info["page"], info["per_page"]) == (len(expected), page, 7)
            assert info["total_pages"] == max(1, -(-len(expected) // 7)) and info["count"] == len(answer["result"])
            got += [r["id"] for r in answer["result"]]
            if page >= info["total_pages"]:
                break
        assert got == expected, (order, direction, filters)
