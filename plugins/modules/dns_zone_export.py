#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_zone_export
short_description: Export the DNS records of a Cloudflare zone to a BIND zone file
version_added: 1.1.0
description:
  - Writes the zone's BIND export (C(GET /zones/{id}/dns_records/export)) to O(dest), for backups and migrations.
  - Reported as changed only when the file content changes; the file is replaced atomically. The export's
    C(;; Exported:) header line (the time of the export) does not count as a change.
  - Makes no write to Cloudflare; in check mode the file is not written either.
author:
  - cfops platform team (@cfops)
extends_documentation_fragment:
  - cfops.cloudflare.api
  - cfops.cloudflare.attributes
  - ansible.builtin.files
options:
  zone:
    description: The zone, by name (V(example.com)) or by its 32-character id.
    type: str
    required: true
  dest:
    description: The path of the zone file to write.
    type: path
    required: true
"""

EXAMPLES = r"""
- name: Back up the zone
  cfops.cloudflare.dns_zone_export:
    zone: example.com
    dest: "backups/example.com.zone"
    mode: "0600"
  register: export

- name: Show its checksum
  ansible.builtin.debug:
    msg: "{{ export.sha256 }}"
"""

RETURN = r"""
dest:
  description: The path written.
  returned: always
  type: str
  sample: backups/example.com.zone
sha256:
  description: The SHA-256 of the exported zone file.
  returned: always
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
size:
  description: The size of the zone file in bytes.
  returned: always
  type: int
  sample: 2048
zone:
  description: The zone (C(id), C(name)).
  returned: always
  type: dict
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
      sample: 0
"""

import hashlib
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cfops.cloudflare.plugins.module_utils._dns import ZoneRecordsModule, records_path
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._module import CloudflareModule


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _comparable(content):
    """The export without its ``;; Exported: <time>`` header line, which changes on every export."""
    return b"\n".join(line for line in content.split(b"\n") if not line.startswith(b";; Exported:"))


class DNSZoneExportModule(ZoneRecordsModule):

    def execute(self):
        directory = os.path.dirname(os.path.abspath(self.params["dest"]))
        if not os.path.isdir(directory):
            raise InvalidInputError("the directory of dest %s does not exist: create it first" % self.params["dest"])
        self.zone()
        content = self.client.get_raw(records_path(self.zone_info["id"], "export")).content
        dest = self.params["dest"]
        current = _read(dest)
        self.result.update(dest=dest, sha256=hashlib.sha256(content).hexdigest(), size=len(content))
        self.set_diff({"content": (current or b"").decode("utf-8", "replace")}, {"content": content.decode("utf-8", "replace")})
        if current is None or _comparable(current) != _comparable(content):
            self.mark_changed()
            if not self.check_mode:
                self.write(dest, content)
        file_args = self.module.load_file_common_arguments(self.params, path=dest)
        if not self.check_mode or current is not None:
            self.result["changed"] = self.module.set_fs_attributes_if_different(file_args, self.result["changed"])

    def write(self, dest, content):
        directory = os.path.dirname(os.path.abspath(dest))
        handle, temp = tempfile.mkstemp(dir=directory, prefix=".dns_zone_export.")
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        self.module.atomic_move(temp, dest)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            CloudflareModule.base_module_arguments(),
            zone=dict(type="str", required=True),
            dest=dict(type="path", required=True),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    DNSZoneExportModule(module).run()


if __name__ == "__main__":
    main()
