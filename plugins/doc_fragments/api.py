# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The connection options shared by every module (``cfops.cloudflare.api``)."""

    DOCUMENTATION = r"""
options:
  api_token:
    description:
      - Cloudflare API token, sent as a Bearer token.
      - If not set, the value of the E(CLOUDFLARE_API_TOKEN) environment variable is used.
      - Required; the module fails before any API call when neither is set.
    type: str
  account_id:
    description:
      - The Cloudflare account the objects belong to.
      - If not set, the value of the E(CLOUDFLARE_ACCOUNT_ID) environment variable is used.
      - Required by account-level modules; they fail before any API call when neither is set.
    type: str
  api_base_url:
    description:
      - Base URL of the Cloudflare API.
      - If not set, the value of the E(CLOUDFLARE_API_BASE_URL) environment variable is used.
      - Point it at a local emulator for tests, for example V(http://127.0.0.1:8791/client/v4).
    type: str
    default: https://api.cloudflare.com/client/v4
  api_timeout:
    description:
      - Timeout in seconds of each HTTP request.
      - If not set, the value of the E(CLOUDFLARE_API_TIMEOUT) environment variable is used.
    type: float
    default: 30
  api_max_retries:
    description:
      - How many times a call is retried after a rate limit (HTTP 429), a server error (HTTP 5xx),
        a timeout or a connection error.
      - Retries wait with exponential backoff and jitter, or as long as the API's C(Retry-After)
        header asks (at least 1 second); when it asks for longer than is left of O(api_max_retry_time),
        the call fails at once saying how long the API asked to wait.
      - A refused connection (nothing listens at O(api_base_url)) is retried twice after half a second,
        then fails naming the URL tried.
      - A create (POST) that failed in a way that may have applied it is not sent again blindly;
        the module looks the object up first.
    type: int
    default: 8
  api_max_retry_time:
    description:
      - Upper bound, in seconds, of the total time one call spends waiting between retries.
    type: float
    default: 120
requirements:
  - httpx (Python library, in the Python that runs the module)
notes:
  - Every module returns RV(api_calls), the number of API reads and writes it made.
  - Set the connection options once for a play with C(module_defaults) and the action group
    C(group/cfops.cloudflare.cloudflare).
"""
