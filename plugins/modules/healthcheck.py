#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: healthcheck
short_description: Manage a zone's standalone health check
version_added: 1.1.0
description:
  - Creates, updates or deletes a health check of a zone, identified by its O(name), for example one that
    probes the Worker's C(/health) endpoint from a few regions.
  - Options left out take Cloudflare's defaults, so the health check converges to exactly what the task says.
  - One read (the zone's health checks) and at most one write; nothing is written when nothing differs.
  - The values are checked before any write (name characters, expected codes, regions, and an interval
    longer than O(timeout) x (O(retries) + 1)).
  - Health Checks need a Pro plan or higher. On a zone whose plan Cloudflare reports as Free the module fails
    before any write, in check mode too, naming the zone; when Cloudflare refuses a health check because of the
    zone's plan, the message says so and quotes Cloudflare's answer.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  zone:
    description: The zone, by name (V(example.com)) or 32-character id.
    type: str
    required: true
  name:
    description: The health check's name (letters, digits, V(-) and V(_)), unique in the zone.
    type: str
    required: true
  address:
    description: The hostname or IP address to probe. Required with O(state=present).
    type: str
  type:
    description: The protocol.
    type: str
    choices: [HTTP, HTTPS, TCP]
    default: HTTPS
  path:
    description: The path to request (HTTP and HTTPS).
    type: str
    default: /
  method:
    description: The HTTP method (HTTP and HTTPS).
    type: str
    choices: [GET, HEAD]
    default: GET
  port:
    description: The port; defaults to 80 (HTTP, TCP) or 443 (HTTPS).
    type: int
  expected_codes:
    description: The response codes that count as healthy, such as V(200) or V(2xx) (HTTP and HTTPS).
    type: list
    elements: str
    default: ["200"]
  expected_body:
    description: A case-insensitive substring the response body must contain.
    type: str
    default: ""
  header:
    description:
      - Request headers to send, name to list of values (the User-Agent cannot be set).
      - Header values often carry credentials (C(Authorization)), so they are masked (C(no_log)) and the
        result and the diff show each value as V(<redacted>) (V(<redacted, changed>) where it changes).
    type: dict
  follow_redirects:
    description: Whether to follow 3xx responses.
    type: bool
    default: false
  allow_insecure:
    description: Whether to skip certificate validation (HTTPS).
    type: bool
    default: false
  interval:
    description: Seconds between checks.
    type: int
    default: 60
  retries:
    description: Retries after a timeout before the origin counts as unhealthy.
    type: int
    default: 2
  timeout:
    description: Seconds before a check fails.
    type: int
    default: 5
  consecutive_fails:
    description: Failures in a row before the status turns unhealthy.
    type: int
    default: 1
  consecutive_successes:
    description: Successes in a row before the status turns healthy.
    type: int
    default: 1
  check_regions:
    description:
      - Regions to probe from (WNAM, ENAM, WEU, EEU, NSAM, SSAM, OC, ME, NAF, SAF, IN, SEAS, NEAS, ALL_REGIONS).
      - Left out, Cloudflare picks.
    type: list
    elements: str
  description:
    description: A description.
    type: str
    default: ""
  suspended:
    description: Whether the checks are paused.
    type: bool
    default: false
  state:
    description: V(present) creates or updates the health check; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Probe the Worker's /health from Europe and North America
  cfops.cloudflare.healthcheck:
    zone: example.com
    name: books-api-health
    address: books.example.com
    path: /health
    expected_codes: ["200"]
    interval: 60
    retries: 2
    timeout: 5
    check_regions: [WEU, ENAM]

- name: Delete it
  cfops.cloudflare.healthcheck:
    zone: example.com
    name: books-api-health
    state: absent
"""

RETURN = r"""
healthcheck:
  description:
    - The health check; C(id) is C(null) when check mode would create it.
    - C(null) after O(state=absent) (deleted now, already gone, or to be deleted in check mode).
    - Each value of C(http_config.header) shows as V(<redacted>).
  returned: always
  type: dict
  sample: {"id": "9a7806061c88ada191ed06f989cc3dac", "name": "books-api-health", "address": "books.example.com",
           "type": "HTTPS", "interval": 60, "retries": 2, "timeout": 5, "suspended": false}
api_calls:
  description: The number of Cloudflare API calls the module made.
  returned: always
  type: dict
  contains:
    reads:
      description: Calls that read.
      type: int
      returned: always
      sample: 2
    writes:
      description: Calls that wrote.
      type: int
      returned: always
      sample: 1
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils import _validate
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._zones import resolve_zone, zone_path

REGIONS = ("WNAM", "ENAM", "WEU", "EEU", "NSAM", "SSAM", "OC", "ME", "NAF", "SAF", "IN", "SEAS", "NEAS", "ALL_REGIONS")
TOP_LEVEL = ("name", "address", "type", "interval", "retries", "timeout", "consecutive_fails", "consecutive_successes",
             "check_regions", "description", "suspended")
HTTP_KEYS = ("path", "method", "port", "expected_codes", "expected_body", "header", "follow_redirects", "allow_insecure")
PER_PAGE = 100
# The plans without health checks: the Free plan's ids (plan.legacy_id of types/zones/zone.py; the rate plan ids of
# types/shared/rate_plan.py). Any other plan, or none, is left to Cloudflare (emulator/fidelity/healthchecks.yml).
FREE_PLANS = ("free", "partners_free")
# How a refusal because of the plan reads, whatever its status and code: 1002 "health checks disabled for zone" is
# what public clients see on Free zones; the others are the wording of Cloudflare's other plan-gated features.
PLAN_REFUSAL = re.compile(r"health ?checks? (?:are |is )?(?:disabled|not (?:enabled|available|allowed|entitled|included))"
                          r"|not entitled|entitlement|upgrade|plan type|(?:your|this|current|zone'?s?) plan"
                          r"|(?:paid|pro|higher) plan|requires? an? (?:pro|paid|higher)", re.I)
NEEDS_PRO = "Health Checks need a Pro plan or higher (Pro, Business or Enterprise)"


def desired_body(params):
    """The full API body for the options, or InvalidInputError naming the bad option."""
    name = params["name"]
    if not re.match(r"^[A-Za-z0-9_-]{1,255}$", name):
        raise InvalidInputError("name %r: use letters, digits, '-' and '_' only" % name)
    if not params["address"]:
        raise InvalidInputError("health check %r: address is required with state=present" % name)
    try:
        _validate.hostname(params["address"], "address")
    except InvalidInputError as exc:
        raise InvalidInputError("health check %r: %s" % (name, exc))
    if params["timeout"] * (params["retries"] + 1) >= params["interval"]:
        raise InvalidInputError("health check %r: interval (%d s) must be longer than timeout x (retries + 1) = %d s"
                                % (name, params["interval"], params["timeout"] * (params["retries"] + 1)))
    if params["port"] is not None and not 1 <= params["port"] <= 65535:
        raise InvalidInputError("health check %r: port %d is not a TCP port: use 1 to 65535" % (name, params["port"]))
    if params["type"] != "TCP" and not params["path"].startswith("/"):
        raise InvalidInputError("health check %r: path %r must start with '/', for example /health" % (name, params["path"]))
    for region in params["check_regions"] or []:
        if region not in REGIONS:
            raise InvalidInputError("health check %r: unknown region %r (regions: %s)" % (name, region, ", ".join(REGIONS)))
    for code in params["expected_codes"]:
        if not re.match(r"^[1-5]([0-9]{2}|xx)$", code):
            raise InvalidInputError("health check %r: expected code %r is not a status such as 200 or 2xx" % (name, code))
    body = {key: params[key] for key in TOP_LEVEL}
    port = params["port"] or (443 if params["type"] == "HTTPS" else 80)
    if params["type"] == "TCP":
        body["tcp_config"] = {"method": "connection_established", "port": port}
        body["http_config"] = None
    else:
        body["http_config"] = dict({key: params[key] for key in HTTP_KEYS}, port=port)
        body["tcp_config"] = None
    return body


# Left out (None), Cloudflare picks the regions and may answer its pick (types/healthchecks/healthcheck.py).
SERVER_PICKS = ("check_regions",)


def _comparable(key, value):
    return "" if key == "description" and value is None else value  # no description may read back as null


def differences(current, desired):
    """The keys of ``desired`` whose values ``current`` does not have."""
    return sorted(key for key, value in desired.items()
                  if not (value is None and key in SERVER_PICKS) and _comparable(key, current.get(key)) != _comparable(key, value))


REDACTED = "<redacted>"
REDACTED_CHANGED = "<redacted, changed>"


def _header_of(document):
    config = (document or {}).get("http_config")
    return config.get("header") if isinstance(config, dict) and isinstance(config.get("header"), dict) else None


def shown(document, compared_to=None):
    """``document`` (a health check, a body) with every header value replaced by a marker: headers carry
    credentials (Authorization, API keys), and results and diffs are printed. A value that differs from
    ``compared_to``'s says so, so a diff still shows which header changes."""
    header = _header_of(document)
    if header is None:
        return document
    before = _header_of(compared_to) if compared_to is not None else None
    masked = {}
    for name, values in header.items():
        changed = before is not None and before.get(name) != values
        masked[name] = [REDACTED_CHANGED if changed else REDACTED for _value in (values if isinstance(values, list) else [values])]
    return dict(document, http_config=dict(document["http_config"], header=masked))


class HealthcheckModule(CloudflareModule):

    requires_account = False
    path = None  # the zone's health checks collection, set once the zone is resolved

    def execute(self):
        body = desired_body(self.params) if self.params["state"] == "present" else None
        zone = resolve_zone(self.client, self.params["zone"], self.account_id)
        self.path = zone_path(zone["id"], "healthchecks")
        plan = self.plan_of(zone) if body is not None else zone["plan"]  # deleting needs no plan
        if body is not None and plan in FREE_PLANS:
            raise InvalidInputError("health check %r: zone %r is on the Free plan (Cloudflare reports its plan as %r), "
                                    "and %s: upgrade the zone or leave its health checks out. Nothing was changed."
                                    % (self.params["name"], zone["name"], self.plan_name or plan, NEEDS_PRO))
        try:
            current = self.find()
            if body is None:
                self.absent_from(current)
            else:
                self.present_as(current, body)
        except CloudflareAPIError as exc:
            raise self.explained(exc, zone["name"], plan)

    plan_name = None

    def plan_of(self, zone):
        """The zone's plan id (legacy_id), None when Cloudflare does not say. ``resolve_zone`` reads an absent
        plan as free (right for the DNS batch size), so a free one is confirmed once before it is refused."""
        if zone["plan"] not in FREE_PLANS:
            return zone["plan"]
        plan = (self.client.get(zone_path(zone["id"])) or {}).get("plan") or {}
        self.plan_name = plan.get("name")
        return plan.get("legacy_id") or None

    def explained(self, exc, zone_name, plan):
        """``exc`` with a message that names the plan as the cause when Cloudflare refused because of it."""
        text = " ".join(str(error.get("message", "")) for error in exc.errors) or exc.message
        if exc.status is None or not 400 <= exc.status < 500 or exc.status == 429 or not PLAN_REFUSAL.search(text):
            return exc
        return exc.with_message("health check %r: Cloudflare refused it because of the plan of zone %r (%s): %s, and "
                                "this zone's plan or subscription does not include them. Cloudflare answered: %s"
                                % (self.params["name"], zone_name, "plan %s" % plan if plan else "plan not reported",
                                   NEEDS_PRO, exc.message))

    def find(self):
        for item in self.client.list_pages(self.path, per_page=PER_PAGE):
            if item["name"] == self.params["name"]:
                return item
        return None

    def present_as(self, current, body):
        if current is None:
            self.mark_changed()
            self.set_diff({}, shown(body))
            if self.check_mode:
                self.result["healthcheck"] = shown(dict(body, id=None))
                return
            self.result["healthcheck"] = shown(self.client.create(self.path, json=body, find_existing=self.find))
            return
        before = {key: current.get(key) for key in body}
        self.set_diff(shown(before), shown(body, before))
        self.result["healthcheck"] = shown(current)
        if not differences(before, body):
            return
        self.mark_changed()
        if self.check_mode:
            self.result["healthcheck"] = shown(dict(current, **body))
            return
        self.result["healthcheck"] = shown(self.client.put(self.path + "/" + current["id"], json=body))

    def absent_from(self, current):
        self.result["healthcheck"] = None
        if current is None:
            self.set_diff({}, {})
            return
        self.mark_changed()
        self.set_diff({key: current.get(key) for key in TOP_LEVEL}, {})
        if not self.check_mode:
            self.client.delete(self.path + "/" + current["id"], json={})


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            zone=dict(type="str", required=True),
            name=dict(type="str", required=True),
            address=dict(type="str"),
            type=dict(type="str", choices=["HTTP", "HTTPS", "TCP"], default="HTTPS"),
            path=dict(type="str", default="/"),
            method=dict(type="str", choices=["GET", "HEAD"], default="GET"),
            port=dict(type="int"),
            expected_codes=dict(type="list", elements="str", default=["200"]),
            expected_body=dict(type="str", default=""),
            header=dict(type="dict", no_log=True),
            follow_redirects=dict(type="bool", default=False),
            allow_insecure=dict(type="bool", default=False),
            interval=dict(type="int", default=60),
            retries=dict(type="int", default=2),
            timeout=dict(type="int", default=5),
            consecutive_fails=dict(type="int", default=1),
            consecutive_successes=dict(type="int", default=1),
            check_regions=dict(type="list", elements="str"),
            description=dict(type="str", default=""),
            suspended=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    HealthcheckModule(module).run()


if __name__ == "__main__":
    main()
