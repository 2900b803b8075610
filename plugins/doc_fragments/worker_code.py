# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The code, binding, release and migration options of worker_script and worker_version (``cfops.cloudflare.worker_code``)."""

    DOCUMENTATION = r"""
options:
  main_module:
    description:
      - Path of the ES-module entry file (V(.js) or V(.mjs)), uploaded under its file name.
    type: path
  additional_modules:
    description:
      - Other module files, uploaded under their path relative to the main module's directory
        (so V(src/lib/http.js) next to V(src/index.js) is the module V(lib/http.js)).
      - The content type follows the extension. V(.js) and V(.mjs) are ES modules, V(.wasm) is
        WebAssembly, V(.txt) is text, V(.bin) is binary data and V(.map) is a source map.
    type: list
    elements: path
    default: []
  compatibility_date:
    description:
      - The Workers runtime compatibility date, V(YYYY-MM-DD).
    type: str
  compatibility_flags:
    description:
      - Compatibility flags, for example V(nodejs_compat). Order does not matter.
    type: list
    elements: str
    default: []
  kv_namespaces:
    description:
      - KV namespace bindings. Each namespace, given by id or by title, must exist; the module
        fails before any write when one does not (create it with M(cfops.cloudflare.kv_namespace)).
    type: list
    elements: dict
    default: []
    suboptions:
      binding:
        description: The binding name the Worker sees, for example V(CACHE).
        type: str
        required: true
      namespace_id:
        description: The namespace id. Mutually exclusive with O(kv_namespaces[].title).
        type: str
      title:
        description: The namespace title, resolved to its id. Mutually exclusive with O(kv_namespaces[].namespace_id).
        type: str
  text_vars:
    description:
      - Plain text variables (C(plain_text) bindings), by name. Numbers are converted to strings.
    type: dict
    default: {}
  json_vars:
    description:
      - JSON variables (C(json) bindings), by name. Values may be any JSON data.
    type: dict
    default: {}
  secrets:
    description:
      - Secret values (C(secret_text) bindings), by name. Never shown in the output or the diff.
      - Secret values cannot be read back. A keyed digest of them (see O(secret_digest_key)) is part of the
        release fingerprint, so a changed value makes a new upload; every upload carries every secret
        listed here with its value.
    type: dict
    default: {}
  secret_digest_key:
    description:
      - The key of the HMAC-SHA256 digest of the O(secrets) values that the release fingerprint covers (the
        values themselves never leave the module). Defaults to O(api_token).
      - Changing the key (or the API token, when this is unset) changes the fingerprint of a Worker with
        secrets, so its next run uploads once.
    type: str
  version_metadata:
    description:
      - The name of a C(version_metadata) binding (for example V(CF_VERSION_METADATA)), through which the
        Worker reads the id, tag and time of the version it runs. Not set - no such binding is uploaded,
        and one the Worker already has (added by wrangler or by hand) is kept.
    type: str
  version_message:
    description:
      - A human-readable message stored with the version (the C(workers/message) annotation; Cloudflare
        truncates it to 1000 bytes). Part of the release fingerprint.
      - Named so because Ansible reserves the option name C(message).
    type: str
  tag:
    description:
      - Your identifier for the version, for example a release number (the C(workers/tag) annotation, at
        most 100 bytes). Part of the release fingerprint.
    type: str
  durable_objects:
    description:
      - Durable Object namespace bindings (C(durable_object_namespace)). The class must exist when the
        upload is applied, in this Worker (after O(migrations)) or in O(durable_objects[].script_name).
    type: list
    elements: dict
    default: []
    suboptions:
      binding:
        description: The binding name the Worker sees.
        type: str
        required: true
      class_name:
        description: The exported Durable Object class.
        type: str
        required: true
      script_name:
        description: The Worker that defines the class, when it is another Worker.
        type: str
  queues:
    description: Queue producer bindings (C(queue)).
    type: list
    elements: dict
    default: []
    suboptions:
      binding:
        description: The binding name the Worker sees.
        type: str
        required: true
      queue_name:
        description: The queue's name.
        type: str
        required: true
  d1_databases:
    description: D1 database bindings (C(d1)).
    type: list
    elements: dict
    default: []
    suboptions:
      binding:
        description: The binding name the Worker sees.
        type: str
        required: true
      database_id:
        description: The database's UUID.
        type: str
        required: true
  r2_buckets:
    description: R2 bucket bindings (C(r2_bucket)).
    type: list
    elements: dict
    default: []
    suboptions:
      binding:
        description: The binding name the Worker sees.
        type: str
        required: true
      bucket_name:
        description: The bucket's name.
        type: str
        required: true
  services:
    description: Service bindings to other Workers (C(service)).
    type: list
    elements: dict
    default: []
    suboptions:
      binding:
        description: The binding name the Worker sees.
        type: str
        required: true
      service:
        description: The Worker to call.
        type: str
        required: true
      environment:
        description: The environment of that Worker, if it uses one.
        type: str
  analytics_engine_datasets:
    description: Workers Analytics Engine bindings (C(analytics_engine)).
    type: list
    elements: dict
    default: []
    suboptions:
      binding:
        description: The binding name the Worker sees.
        type: str
        required: true
      dataset:
        description: The dataset's name.
        type: str
        required: true
  migrations:
    description:
      - Durable Object migrations, as in wrangler's C(migrations) list, oldest first; append new steps,
        never edit applied ones.
      - The module reads the Worker's current migration tag and sends only the steps after it
        (C(old_tag) = the current tag, C(new_tag) = the last step's tag); nothing when it is the last
        step's tag. A current tag that is not among the steps' tags fails before any write.
      - A step that deletes a class this Worker still binds in O(durable_objects) fails before any write.
    type: list
    elements: dict
    default: []
    suboptions:
      tag:
        description: The step's unique tag, for example V(v1).
        type: str
        required: true
      new_classes:
        description: Classes that get a new (key-value storage) Durable Object namespace.
        type: list
        elements: str
        default: []
      new_sqlite_classes:
        description: Classes that get a new SQLite-backed Durable Object namespace.
        type: list
        elements: str
        default: []
      renamed_classes:
        description: Classes renamed, keeping their data.
        type: list
        elements: dict
        default: []
        suboptions:
          from:
            description: The old class name.
            type: str
            required: true
          to:
            description: The new class name.
            type: str
            required: true
      deleted_classes:
        description: Classes whose namespace and data are deleted.
        type: list
        elements: str
        default: []
      transferred_classes:
        description: Classes moved here from another Worker, with their data.
        type: list
        elements: dict
        default: []
        suboptions:
          from:
            description: The class in the other Worker.
            type: str
            required: true
          from_script:
            description: The other Worker.
            type: str
            required: true
          to:
            description: The class in this Worker.
            type: str
            required: true
"""
