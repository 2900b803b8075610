# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""The collection version, sent in the API client's User-Agent."""

from __future__ import annotations

# Keep in step with galaxy.yml (the release process bumps both).
COLLECTION_VERSION = "1.1.0"
