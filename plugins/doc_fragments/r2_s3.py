# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The S3 key pair and endpoint of the modules that move R2 objects (``cfops.cloudflare.r2_s3``)."""

    DOCUMENTATION = r"""
options:
  access_key_id:
    description:
      - The R2 access key id. If not set, the value of the E(R2_ACCESS_KEY_ID) environment variable is used.
      - With neither, and with O(secret_access_key) also unset, the key pair is derived from O(api_token) as R2
        does (the token's id and the SHA-256 of its value), at the cost of one or two API calls to verify the
        token. Account API tokens (verified at C(/accounts/{account_id}/tokens/verify)) and user API tokens
        (verified at C(/user/tokens/verify)) both work; the account path is tried first when O(account_id) is set.
    type: str
  secret_access_key:
    description:
      - The R2 secret access key. If not set, the value of the E(R2_SECRET_ACCESS_KEY) environment variable is used.
    type: str
  s3_endpoint_url:
    description:
      - R2's S3 endpoint. If not set, the value of the E(R2_S3_ENDPOINT_URL) environment variable is used.
      - Not set at all, it is C(https://<account_id>.r2.cloudflarestorage.com), or, when O(api_base_url) points
        somewhere else than Cloudflare (the local emulator), C(<that host>/r2-s3/<account_id>).
    type: str
notes:
  - The E(AWS_ACCESS_KEY_ID) and E(AWS_SECRET_ACCESS_KEY) variables are deliberately not read, so that AWS
    credentials of the same environment are never sent to Cloudflare.
"""
