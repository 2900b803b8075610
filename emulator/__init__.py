"""Local Cloudflare v4 API emulator for the cfops.cloudflare collection (standard library only).

Run from the repository root: ``python -m emulator --port 8791 --data-dir .emulator-data``.
It never imports from ``plugins/``: it is an independent implementation of the API, so a bug on one
side is not hidden by shared code.
"""
DEFAULT_PORT = 8791
DEFAULT_ACCOUNT_ID = "023e105f4ecef8ad9ca31a8372d0c353"
DEFAULT_ACCOUNT_NAME = "cfops local account"
DEFAULT_TOKEN = "cfops-local-emulator-token"  # a well-known local value, not a secret
DEFAULT_ZONE = "example.com"  # seeded at every start so zone-scoped features work out of the box
