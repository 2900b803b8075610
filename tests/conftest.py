"""Make the repository importable as the ``cfops.cloudflare`` collection.

Tests import ``ansible_collections.cfops.cloudflare...``; that needs the repo to sit at
``ansible_collections/cfops/cloudflare`` on ``sys.path``.  ``scripts/bootstrap.sh`` creates the
link ``.collections/ansible_collections/cfops/cloudflare -> repo``; we create it here too so a bare
``pytest`` run works.
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, ".collections")
_link = os.path.join(COLLECTIONS, "ansible_collections", "cfops", "cloudflare")
if not os.path.exists(_link):
    os.makedirs(os.path.dirname(_link), exist_ok=True)
    os.symlink(REPO, _link)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
if REPO not in sys.path:
    sys.path.insert(0, REPO)
