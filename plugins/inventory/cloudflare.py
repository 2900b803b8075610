# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: cloudflare
short_description: An account's Workers and zones as inventory hosts
version_added: 1.2.0
description:
  - Reads the Workers scripts and the zones of one Cloudflare account and adds each as a host, in the group
    C(cloudflare_workers) or C(cloudflare_zones) (names configurable), with the object the API returned as a
    host variable.
  - Hosts represent API objects, so by default they get C(ansible_connection=local) and the controller's Python,
    and tasks on them run the collection's modules on the controller.
  - The inventory file name must end with C(cloudflare.yml) or C(cloudflare.yaml).
  - Uses the collection's API client (retries, paging, errors). Results can be cached with the inventory cache
    options.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api_plugin
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; it must be C(cfops.cloudflare.cloudflare).
    type: str
    required: true
    choices: [cfops.cloudflare.cloudflare]
  include:
    description:
      - Which kinds of objects become hosts.
    type: list
    elements: str
    choices: [workers, zones]
    default: [workers, zones]
  workers_group:
    description: The group of the Worker hosts.
    type: str
    default: cloudflare_workers
  zones_group:
    description: The group of the zone hosts.
    type: str
    default: cloudflare_zones
  local_connection:
    description:
      - Set C(ansible_connection=local) and C(ansible_python_interpreter) to the Python running Ansible on every host.
    type: bool
    default: true
notes:
  - O(account_id) is required (in the inventory file or E(CLOUDFLARE_ACCOUNT_ID)).
  - Host variables - C(cloudflare_kind) (V(worker) or V(zone)), C(cloudflare_id) (the Worker's name or the zone's id),
    C(cloudflare_account_id), and C(cloudflare_worker) (the script as C(GET /accounts/{account_id}/workers/scripts)
    returns it) or C(cloudflare_zone) (the zone as C(GET /zones) returns it, plus C(plan) as its legacy id in
    C(cloudflare_zone_plan)).
  - A Worker and a zone with the same name would be one host; the zone then keeps both sets of variables.
"""

EXAMPLES = r"""
# inventories/cloudflare/cloudflare.yml
plugin: cfops.cloudflare.cloudflare
account_id: 023e105f4ecef8ad9ca31a8372d0c353
# api_token from CLOUDFLARE_API_TOKEN
keyed_groups:
  - key: cloudflare_zone_plan
    prefix: plan
    separator: "_"
groups:
  prod_workers: inventory_hostname is match('.*-prod$')
compose:
  worker_usage_model: cloudflare_worker.usage_model | default(omit)

# Then, for example:
#   ansible-inventory -i inventories/cloudflare --graph
#   ansible -i inventories/cloudflare cloudflare_zones -m cfops.cloudflare.zone_settings -a 'zone={{ inventory_hostname }}' --check
"""

import sys

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.cfops.cloudflare.plugins.module_utils._client import CloudflareAPIError, build_path
from ansible_collections.cfops.cloudflare.plugins.module_utils._zone_list import list_zones
from ansible_collections.cfops.cloudflare.plugins.plugin_utils._api import client_from_options, require_account

PLUGIN = "inventory cfops.cloudflare.cloudflare"


def _where(option):
    return "%s in the inventory file or CLOUDFLARE_%s" % (option, option.upper())


def read_account(client, account_id, include):
    """``{"workers": [...], "zones": [...]}``: the API objects of the kinds in ``include``."""
    found = {"workers": [], "zones": []}
    if "workers" in include:
        # A single unpaged list (emulator/fidelity/workers.yml, GET /accounts/{account_id}/workers/scripts).
        found["workers"] = client.get(build_path("accounts", account_id, "workers", "scripts")) or []
    if "zones" in include:
        found["zones"] = list_zones(client, account_id=account_id)
    return found


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "cfops.cloudflare.cloudflare"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("cloudflare.yml", "cloudflare.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        account_id = require_account(self.get_option, PLUGIN, _where)
        include = self.get_option("include")
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        objects = None
        if use_cache:
            try:
                objects = self._cache[cache_key]
            except KeyError:
                objects = None
        if objects is None:
            objects = self._read(account_id, include)
            if self.get_option("cache"):
                self._cache[cache_key] = objects
        self._populate(objects, account_id)

    def _read(self, account_id, include):
        client = client_from_options(self.get_option, PLUGIN, _where)
        try:
            return read_account(client, account_id, include)
        except CloudflareAPIError as exc:
            raise AnsibleParserError("%s: %s" % (PLUGIN, exc))
        finally:
            client.close()

    def _populate(self, objects, account_id):
        strict = self.get_option("strict")
        for kind, group_option, key in (("workers", "workers_group", "worker"), ("zones", "zones_group", "zone")):
            group = self.inventory.add_group(self.get_option(group_option))
            for item in objects.get(kind) or []:
                name = item.get("id") if kind == "workers" else item.get("name")
                if not name:
                    continue
                host = self.inventory.add_host(name, group=group)
                host_vars = {"cloudflare_kind": key, "cloudflare_id": item.get("id"), "cloudflare_account_id": account_id,
                             "cloudflare_%s" % key: item}
                if kind == "zones":
                    host_vars["cloudflare_zone_plan"] = (item.get("plan") or {}).get("legacy_id") or "free"
                if self.get_option("local_connection"):
                    # The Python running this plugin is the controller's; a template here would be untrusted
                    # inventory data on ansible-core 2.19+ and never rendered.
                    host_vars.update(ansible_connection="local", ansible_python_interpreter=sys.executable)
                for var, value in host_vars.items():
                    self.inventory.set_variable(host, var, value)
                variables = self.inventory.get_host(host).get_vars()
                try:
                    self._set_composite_vars(self.get_option("compose"), variables, host, strict=strict)
                    self._add_host_to_composed_groups(self.get_option("groups"), variables, host, strict=strict)
                    self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, host, strict=strict)
                except AnsibleError as exc:
                    raise AnsibleParserError("%s: host %s: %s" % (PLUGIN, host, exc))
