# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""CloudflareModule: the shared argument spec, the client from the options, check/diff/result helpers."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.cfops.cloudflare.plugins.module_utils import _validate
from ansible_collections.cfops.cloudflare.plugins.module_utils._client import (
    DEFAULT_API_BASE_URL,
    HAS_HTTPX,
    HTTPX_IMPORT_ERROR,
    CloudflareAPIError,
    CloudflareClient,
)
from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError, clean_token, redact


def cloudflare_argument_spec():
    """The connection options every module takes (documented by the ``cfops.cloudflare.api`` fragment)."""
    return dict(
        api_token=dict(type="str", no_log=True, fallback=(env_fallback, ["CLOUDFLARE_API_TOKEN"])),
        account_id=dict(type="str", fallback=(env_fallback, ["CLOUDFLARE_ACCOUNT_ID"])),
        api_base_url=dict(type="str", default=DEFAULT_API_BASE_URL, fallback=(env_fallback, ["CLOUDFLARE_API_BASE_URL"])),
        api_timeout=dict(type="float", default=30, fallback=(env_fallback, ["CLOUDFLARE_API_TIMEOUT"])),
        api_max_retries=dict(type="int", default=8),
        api_max_retry_time=dict(type="float", default=120),
    )


class CloudflareModule:
    """Base of the modules (hetzner.hcloud style).

    A module subclasses it, implements ``present()`` and ``absent()`` (picked by ``state``) or
    overrides ``execute()``, and calls ``run()`` from ``main()``. Every write must sit behind
    ``if not self.check_mode``; the client refuses writes in check mode as a safety net.
    """

    # Account-level modules need account_id; a zone-level module sets this to False.
    requires_account = True

    def __init__(self, module):
        self.module = module
        # node's syntax check of Worker code runs through Ansible's run_command (binary stdin, no newline added).
        _validate.set_command_runner(lambda argv, data: module.run_command(argv, data=data, binary_data=True))
        self.params = module.params
        self.check_mode = module.check_mode
        self.client = None
        self.result = {"changed": False}
        self._diff = None
        self._token_error = self._clean_api_token()

    def _clean_api_token(self):
        """Strip the token (a file's trailing newline) for every use, S3 key derivation included; hide both forms."""
        given = self.params.get("api_token")
        if not given:
            return None
        try:
            cleaned = clean_token(given)
        except InvalidInputError as exc:
            return str(exc)
        no_log_values = getattr(self.module, "no_log_values", None)
        if isinstance(no_log_values, set):
            no_log_values.add(cleaned)
        self.params["api_token"] = cleaned
        return None

    @staticmethod
    def base_module_arguments():
        return cloudflare_argument_spec()

    @property
    def account_id(self):
        return self.params["account_id"]

    def run(self):
        """Check the connection options, run the module, and exit with its result or a clear error."""
        if not HAS_HTTPX:
            self.fail(missing_required_lib("httpx"), exception=HTTPX_IMPORT_ERROR)
        if not self.params["api_token"]:
            self.fail("api_token is required: set it or CLOUDFLARE_API_TOKEN")
        if self._token_error:
            self.fail(self._token_error)
        if self.requires_account and not self.params["account_id"]:
            self.fail("account_id is required: set it or CLOUDFLARE_ACCOUNT_ID")
        base_url = self.params["api_base_url"]
        if not base_url.startswith(("https://", "http://")):
            self.fail("api_base_url must be an http(s) URL, got %r" % base_url)
        try:
            self.client = CloudflareClient(
                self.params["api_token"],
                base_url=base_url,
                timeout=self.params["api_timeout"],
                max_retries=self.params["api_max_retries"],
                max_retry_time=self.params["api_max_retry_time"],
            )
        except InvalidInputError as exc:  # a token with a control character inside (the message hides it)
            self.fail(str(exc))
        self.client.writes_allowed = not self.check_mode
        try:
            self.execute()
        except InvalidInputError as exc:
            self.fail(str(exc))
        except CloudflareAPIError as exc:
            self.fail(exc.message, status=exc.status, errors=exc.errors)
        finally:
            self.client.close()
        self.exit()

    def execute(self):
        if self.params.get("state") == "absent":
            self.absent()
        else:
            self.present()

    def present(self):
        raise NotImplementedError

    def absent(self):
        raise NotImplementedError

    def mark_changed(self):
        self.result["changed"] = True

    def set_diff(self, before, after):
        """Record ``diff: {before, after}``; returned only when the task runs with ``--diff``."""
        self._diff = {"before": before, "after": after}

    def _finish_result(self):
        self.result["api_calls"] = dict(self.client.calls) if self.client is not None else {"reads": 0, "writes": 0}
        if self._diff is not None and self.module._diff:
            self.result["diff"] = self._diff
        return self.result

    def fail(self, msg, **extra):
        # Ansible's no_log masks the token as given, not its repr or URL-encoded forms: those go here.
        msg = redact(msg, [self.params.get("api_token") or ""])
        result = self._finish_result()
        result.update(extra)
        self.module.fail_json(msg=msg, **result)

    def exit(self):
        self.module.exit_json(**self._finish_result())
