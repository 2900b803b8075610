"""Nothing secret is committed in clear: vault files are encrypted, inventories hold no literal tokens."""
import pathlib
import re

REPO = pathlib.Path(__file__).resolve().parent.parent
INVENTORIES = REPO / "inventories"


def test_every_vault_file_in_the_inventories_is_encrypted():
    plain = [
        str(path.relative_to(REPO))
        for path in INVENTORIES.rglob("vault*")
        if path.is_file() and not path.name.endswith(".example")
        and not path.read_text(errors="replace").startswith("$ANSIBLE_VAULT;")
    ]
    assert plain == [], "vault files committed unencrypted: %s" % plain


def test_real_environments_take_credentials_from_vault_or_environment():
    # An environment states what differs from inventories/base (linked as group_vars/all/00-base-main.yml).
    base = (INVENTORIES / "base" / "group_vars" / "all" / "main.yml").read_text()
    for env in ("dev", "staging", "prod"):
        assert (INVENTORIES / env / "group_vars" / "all" / "00-base-main.yml").read_text() == base
        text = (INVENTORIES / env / "group_vars" / "all" / "main.yml").read_text()
        for var in ("cloudflare_api_token", "books_api_key"):
            lines = [line for line in text.splitlines() if line.startswith(var + ":")]
            line = (lines or [line for line in base.splitlines() if line.startswith(var + ":")])[0]
            assert "vault_" in line and "lookup('ansible.builtin.env'" in line, (env, line)


def test_no_cloudflare_token_shaped_literal_in_inventories():
    # Cloudflare API tokens are 40 characters of [A-Za-z0-9_-].
    token_shape = re.compile(r"['\"][A-Za-z0-9_-]{40}['\"]")
    hits = [
        str(path.relative_to(REPO))
        for path in INVENTORIES.rglob("*.yml")
        if token_shape.search(path.read_text())
    ]
    assert hits == []


def test_every_environment_links_every_file_of_the_base():
    base = INVENTORIES / "base"
    for env in ("local", "dev", "staging", "prod"):
        for path in sorted(base.rglob("*.yml")):
            relative = path.relative_to(base)
            link = INVENTORIES / env / relative.parent / (
                "00-base-" + relative.name if relative.parts[0] == "group_vars" else relative.name)
            assert link.is_symlink() and link.resolve() == path.resolve(), "%s does not link %s" % (link, path)
