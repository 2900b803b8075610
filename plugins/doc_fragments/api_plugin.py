# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The connection options of the controller-side plugins (lookup, inventory).

    ``cfops.cloudflare.api_plugin`` (inventory: the inventory file and the environment) and
    ``cfops.cloudflare.api_plugin.lookup`` (also the play's variables, the ones the collection's
    inventories set). Same names, defaults and client as the modules' ``cfops.cloudflare.api``.
    """

    DOCUMENTATION = r"""
options:
  api_token:
    description:
      - Cloudflare API token, sent as a Bearer token.
      - Required; the plugin fails before any API call when it is not set.
    type: str
    env:
      - name: CLOUDFLARE_API_TOKEN
  account_id:
    description:
      - The Cloudflare account to read.
    type: str
    env:
      - name: CLOUDFLARE_ACCOUNT_ID
  api_base_url:
    description:
      - Base URL of the Cloudflare API; point it at a local emulator for tests.
    type: str
    default: https://api.cloudflare.com/client/v4
    env:
      - name: CLOUDFLARE_API_BASE_URL
  api_timeout:
    description:
      - Timeout in seconds of each HTTP request.
    type: float
    default: 30
    env:
      - name: CLOUDFLARE_API_TIMEOUT
  api_max_retries:
    description:
      - How many times a call is retried after a rate limit (HTTP 429), a server error (HTTP 5xx), a timeout or a
        connection error, with exponential backoff and jitter or as long as C(Retry-After) asks.
    type: int
    default: 8
  api_max_retry_time:
    description:
      - Upper bound, in seconds, of the total time one call spends waiting between retries.
    type: float
    default: 120
requirements:
  - httpx (Python library, in the Python that runs Ansible)
"""

    LOOKUP = r"""
options:
  api_token:
    description:
      - Cloudflare API token, sent as a Bearer token.
      - Required; the lookup fails before any API call when it is not set.
    type: str
    env:
      - name: CLOUDFLARE_API_TOKEN
    vars:
      - name: cloudflare_api_token
  account_id:
    description:
      - The Cloudflare account to read.
    type: str
    env:
      - name: CLOUDFLARE_ACCOUNT_ID
    vars:
      - name: cloudflare_account_id
  api_base_url:
    description:
      - Base URL of the Cloudflare API; point it at a local emulator for tests.
    type: str
    default: https://api.cloudflare.com/client/v4
    env:
      - name: CLOUDFLARE_API_BASE_URL
    vars:
      - name: cloudflare_api_base_url
  api_timeout:
    description:
      - Timeout in seconds of each HTTP request.
    type: float
    default: 30
    env:
      - name: CLOUDFLARE_API_TIMEOUT
  api_max_retries:
    description:
      - How many times a call is retried after a rate limit (HTTP 429), a server error (HTTP 5xx), a timeout or a
        connection error, with exponential backoff and jitter or as long as C(Retry-After) asks.
    type: int
    default: 8
  api_max_retry_time:
    description:
      - Upper bound, in seconds, of the total time one call spends waiting between retries.
    type: float
    default: 120
requirements:
  - httpx (Python library, in the Python that runs Ansible)
"""
