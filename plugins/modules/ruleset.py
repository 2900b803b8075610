#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ruleset
short_description: Manage the rules of a zone's or account's phase entrypoint ruleset
version_added: 1.1.0
description:
  - Manages the rules of the entrypoint ruleset of one phase, declaratively; custom WAF rules
    (C(http_request_firewall_custom)), rate limiting rules (C(http_ratelimit)), managed ruleset deployments
    (C(http_request_firewall_managed)) and response header rules (C(http_response_headers_transform)), for example.
  - Rules are matched by their O(rules[].ref), a stable name you choose. Reordering or renaming (the
    description) of a rule changes it in place and keeps its rule id; rules are never deleted and recreated.
  - One read of the entrypoint and at most one C(PUT) that writes the whole rule list. A second run with
    the same rules makes no write.
  - Every rule is checked before any write; the error names the rule's O(rules[].ref) - expression
    structure and field names, the action allowed in the phase, rate limit periods and mitigation timeouts
    allowed on the zone's plan, C(cf.colo.id) in the rate limit characteristics.
  - Values that Cloudflare adds with its defaults inside O(rules[].action_parameters) and O(rules[].ratelimit)
    are not a difference; only what you set is compared.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
options:
  zone:
    description:
      - The zone (name such as V(example.com) or its 32-character id) whose entrypoint to manage.
      - Leave it out to manage the account-level entrypoint of O(account_id).
    type: str
  phase:
    description:
      - The phase of the entrypoint ruleset, for example V(http_request_firewall_custom), V(http_ratelimit),
        V(http_request_firewall_managed) or V(http_response_headers_transform).
    type: str
    required: true
  rules:
    description:
      - The rules, in the order they run. Each needs a unique O(rules[].ref).
      - With O(state=absent), the rules (only their O(rules[].ref) counts) to remove.
    type: list
    elements: dict
    default: []
    suboptions:
      ref:
        description: A stable name that identifies the rule across runs.
        type: str
        required: true
      description:
        description: What the rule is for (shown in the dashboard).
        type: str
      expression:
        description:
          - The Rules language expression that selects the requests, for example
            V(http.request.uri.path eq "/login" and http.request.method eq "POST").
          - Defaults to V(true) for rules made with O(rules[].headers) or O(rules[].managed_ruleset).
        type: str
      action:
        description:
          - The action, for example V(block), V(managed_challenge), V(log), V(skip), V(execute), V(rewrite).
          - Defaults to V(block) in the C(http_ratelimit) phase, V(rewrite) with O(rules[].headers) and
            V(execute) with O(rules[].managed_ruleset).
        type: str
      action_parameters:
        description: The action's parameters, as Cloudflare's API takes them.
        type: dict
      ratelimit:
        description:
          - For the C(http_ratelimit) phase - V(period) (seconds), V(requests_per_period),
            V(mitigation_timeout) (seconds; defaults to the period, V(0) for challenge actions),
            V(characteristics) (defaults to V([ip.src, cf.colo.id]); must include V(cf.colo.id)),
            optionally V(counting_expression) and V(requests_to_origin).
          - The Free plan allows a period and a mitigation timeout of 10 seconds only.
        type: dict
      enabled:
        description: Whether the rule runs.
        type: bool
        default: true
      logging:
        description: Cloudflare's C(logging) object, for example C(enabled=false) for a skip rule.
        type: dict
      headers:
        description:
          - Sugar for a response (or request) header rule - a mapping of header name to value; a null value
            removes the header. Makes a V(rewrite) rule with C(action_parameters.headers).
        type: dict
      managed_ruleset:
        description:
          - Sugar for deploying a managed ruleset - V(cloudflare_managed), V(owasp), V(exposed_credentials),
            V(free_managed) or a 32-character ruleset id. Makes an V(execute) rule.
        type: str
      overrides:
        description: With O(rules[].managed_ruleset), the C(overrides) of the execute action.
        type: dict
  exclusive:
    description:
      - V(true) removes the rules of the entrypoint that O(rules) does not list, and puts the rules in the
        listed order.
      - V(false) keeps rules not listed where they are; listed rules take the listed order among the places
        they held, and new rules go last.
    type: bool
    default: false
  state:
    description:
      - V(present) makes the listed rules exist as given.
      - V(absent) removes the listed rules (by O(rules[].ref)); with O(exclusive=true) and no O(rules),
        removes every rule of the entrypoint.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Rules that another tool manages in the same entrypoint stay untouched unless O(exclusive=true).
"""

EXAMPLES = r"""
- name: Custom WAF rules
  cfops.cloudflare.ruleset:
    zone: example.com
    phase: http_request_firewall_custom
    exclusive: true
    rules:
      - ref: block-admin-from-outside
        description: Admin only from the office
        expression: 'starts_with(http.request.uri.path, "/admin") and not ip.src in {192.0.2.0/24}'
        action: block
      - ref: challenge-bad-reputation
        expression: cf.threat_score gt 14
        action: managed_challenge

- name: Rate limit the API (Free plan - 10 s period and timeout)
  cfops.cloudflare.ruleset:
    zone: example.com
    phase: http_ratelimit
    rules:
      - ref: api-rate-limit
        expression: 'starts_with(http.request.uri.path, "/api/")'
        ratelimit:
          period: 10
          requests_per_period: 20
          mitigation_timeout: 10

- name: Deploy the managed rulesets, one rule logged instead of blocked
  cfops.cloudflare.ruleset:
    zone: example.com
    phase: http_request_firewall_managed
    rules:
      - ref: cloudflare-managed
        managed_ruleset: cloudflare_managed
        overrides:
          rules:
            - id: 5de7edfa648c4d6891dc3e7f84534ffa
              action: log
      - ref: owasp
        managed_ruleset: owasp

- name: Security response headers
  cfops.cloudflare.ruleset:
    zone: example.com
    phase: http_response_headers_transform
    rules:
      - ref: security-headers
        headers:
          Strict-Transport-Security: max-age=31536000; includeSubDomains
          X-Content-Type-Options: nosniff
          X-Frame-Options: DENY
          Referrer-Policy: strict-origin-when-cross-origin
          Content-Security-Policy: default-src 'self'
          X-Powered-By: null

- name: Remove one rule
  cfops.cloudflare.ruleset:
    zone: example.com
    phase: http_request_firewall_custom
    state: absent
    rules:
      - ref: challenge-bad-reputation
"""

RETURN = r"""
ruleset:
  description: The entrypoint ruleset after the run (as it would be, in check mode). C(null) when none exists.
  returned: always
  type: dict
  contains:
    id:
      description: The ruleset id (C(null) before the first write).
      type: str
      sample: 2f2feab2026849078ba485f918791bdc
    phase:
      description: The phase.
      type: str
      sample: http_request_firewall_custom
    version:
      description: The ruleset version.
      type: str
      sample: "3"
    rules:
      description: The rules, in order, each with its C(id) (C(null) for a rule check mode would add) and C(ref).
      type: list
      elements: dict
changes:
  description: What changed (or would change), by rule ref.
  returned: always
  type: dict
  contains:
    added:
      description: Refs of the rules added.
      type: list
      elements: str
    updated:
      description: Refs of the rules changed in place (their ids kept).
      type: list
      elements: str
    removed:
      description: Refs of the rules removed.
      type: list
      elements: str
    reordered:
      description: Whether the order of the kept rules changed.
      type: bool
  sample: {"added": ["api-rate-limit"], "updated": [], "removed": [], "reordered": false}
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule
from ansible_collections.cfops.cloudflare.plugins.module_utils._rulesets import (
    PHASES,
    desired_rules,
    diff_view,
    entrypoint_path,
    plan_rules,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._zones import resolve_zone

RULE_OPTIONS = dict(
    ref=dict(type="str", required=True),
    description=dict(type="str"),
    expression=dict(type="str"),
    action=dict(type="str"),
    action_parameters=dict(type="dict"),
    ratelimit=dict(type="dict"),
    enabled=dict(type="bool", default=True),
    logging=dict(type="dict"),
    headers=dict(type="dict"),
    managed_ruleset=dict(type="str"),
    overrides=dict(type="dict"),
)


class RulesetModule(CloudflareModule):

    requires_account = False

    def execute(self):
        zone = self.params["zone"]
        if not zone and not self.account_id:
            raise InvalidInputError("give zone (a zone name or id) or account_id for the account-level entrypoint")
        rules = [{key: value for key, value in rule.items() if value is not None} for rule in self.params["rules"]]
        absent = self.params["state"] == "absent"
        if self.params["phase"] not in PHASES:
            raise InvalidInputError("unknown phase %r; phases: %s" % (self.params["phase"], ", ".join(PHASES)))
        if zone:
            found = resolve_zone(self.client, zone, self.account_id)
            path, plan = entrypoint_path("zones", found["id"], self.params["phase"]), found["plan"]
        else:
            path, plan = entrypoint_path("accounts", self.account_id, self.params["phase"]), "enterprise"
        desired = desired_rules([] if absent else rules, self.params["phase"], plan)
        ruleset = self.read(path)
        current = ruleset["rules"] if ruleset else []
        if absent:
            remove = {rule["ref"] for rule in rules}
            exclusive = self.params["exclusive"] and not rules
            final, changes = plan_rules(current, [], exclusive=exclusive, remove_refs=remove)
        else:
            final, changes = plan_rules(current, desired, exclusive=self.params["exclusive"])
        self.result["changes"] = changes
        self.set_diff(diff_view(current), diff_view(final))
        if not any(changes.values()):
            self.result["ruleset"] = self.view(ruleset, current)
            return
        self.mark_changed()
        if self.check_mode:
            self.result["ruleset"] = self.view(ruleset, final)
            return
        written = self.client.put(path, json={"rules": final})
        self.result["ruleset"] = self.view(written, written["rules"])

    def read(self, path):
        try:
            return self.client.get(path)
        except CloudflareAPIError as exc:
            if exc.status == 404:
                return None  # the entrypoint is created by the first PUT
            raise

    def view(self, ruleset, rules):
        ruleset = ruleset or {}
        return {"id": ruleset.get("id"), "phase": self.params["phase"], "version": ruleset.get("version"),
                "rules": [dict(rule, id=rule.get("id")) for rule in rules]}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            zone=dict(type="str"),
            phase=dict(type="str", required=True),
            rules=dict(type="list", elements="dict", default=[], options=RULE_OPTIONS),
            exclusive=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    RulesetModule(module).run()


if __name__ == "__main__":
    main()
