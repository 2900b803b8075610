#!/usr/bin/env python
"""Offline stand-in for pip's ``get-pip.py``, as ansible-test uses it.

ansible-test bootstraps pip into each sanity/integration virtual environment by running
``~/.ansible/test/cache/get_pip_<version>.py`` (downloaded from ci-files.testing.ansible.com when
missing: a host this project cannot reach). ``scripts/bootstrap.sh`` installs this file there under
the name ansible-test asks for. It does what get-pip.py does, with what is on the machine: bootstrap
pip from the standard library's ``ensurepip`` wheel, then ``pip install`` the arguments it was given
(e.g. ``pip==24.2``), which pip takes from the configured package index.
"""

from __future__ import annotations

import subprocess
import sys

# get-pip.py options that ``pip install`` does not know.
GET_PIP_ONLY_OPTIONS = frozenset(("--no-setuptools", "--no-wheel"))


def main():
    """Bootstrap pip, then install what was asked."""
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
