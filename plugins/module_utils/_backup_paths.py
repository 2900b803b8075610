# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Files read from a directory stay in it: a symlink may point elsewhere inside it, never out of it."""

from __future__ import annotations

import os


def stays_inside(directory, path):
    """Whether ``path`` (after resolving every link) is ``directory`` or below it."""
    root = os.path.realpath(directory)
    target = os.path.realpath(path)
    return target == root or target.startswith(root.rstrip(os.sep) + os.sep)


def link_problem(directory, path):
    """Why reading ``path`` (a directory entry below ``directory``) would leave ``directory``, or None."""
    if os.path.islink(path):
        if os.path.isdir(path):
            return "%s is a symlink to a directory (not followed)" % os.path.relpath(path, directory)
        if not stays_inside(directory, path):
            return "%s is a symlink that leaves %s" % (os.path.relpath(path, directory), directory)
    return None
