# -*- coding: utf-8 -*-
# Copyright (c) cfops.cloudflare contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the collection. It can have breaking changes at any time.
# Do not use it from other collections or roles.

"""Files read from a directory stay in it: a symlink may point elsewhere inside it, never out of it; a walk of
a directory follows no link at all."""

from __future__ import annotations

import os
import stat


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


def regular_files(root, name_check=None):
    """``({relative path: size}, problems)`` of the regular files below the directory ``root``, walked in name
    order without following a link: a symlink or a special file below it is a problem, and so is a directory
    that cannot be read. ``name_check(relative)``, when given, sees each entry's relative path first: ``False``
    passes the entry over (a directory with everything below it), a string is a problem with it (also passed
    over), anything else keeps it."""
    files, problems = {}, []
    stack = [("", root)]
    while stack:
        prefix, directory = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as exc:
            problems.append("%s cannot be read: %s" % (directory, exc.strerror))
            continue
        for entry in entries:
            relative = prefix + entry.name
            verdict = name_check(relative) if name_check else None
            if verdict is False:
                continue
            if isinstance(verdict, str):
                problems.append(verdict)
                continue
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                problems.append("%s is a symlink" % relative)
            elif stat.S_ISDIR(info.st_mode):
                stack.append((relative + "/", entry.path))
            elif stat.S_ISREG(info.st_mode):
                files[relative] = info.st_size
            else:
                problems.append("%s is not a regular file" % relative)
    return files, problems
