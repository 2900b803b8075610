"""wrangler_config's reader: the seed plans' real configurations, JSONC, environments, errors."""
import json
import os
import pathlib

import pytest

from ansible_collections.cfops.cloudflare.plugins.module_utils._errors import InvalidInputError
from ansible_collections.cfops.cloudflare.plugins.module_utils._wrangler import (
    find_config,
    read_wrangler_config,
    strip_jsonc,
)

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "wrangler"
PINGTOPASS = FIXTURES / "pingtopass"   # the wrangler.toml of seed plan 003, verbatim
BOOKS = FIXTURES / "books-api"         # a wrangler.jsonc built from seed plan 001's resources


# The seed plan's wrangler.toml -------------------------------------------------------------------------------

def test_pingtopass_top_level():
    result, warnings = read_wrangler_config(str(PINGTOPASS))
    worker = result["worker"]
    assert result["config_file"] == str(PINGTOPASS / "wrangler.toml")
    assert worker["name"] == "pingtopass"
    assert worker["main_module"] == str(PINGTOPASS / ".output" / "server" / "index.mjs")
    assert worker["compatibility_date"] == "2024-01-01"
    assert worker["compatibility_flags"] == ["nodejs_compat"]
    assert worker["kv_namespaces"] == [{"binding": "SESSION_STORE", "namespace_id": "YOUR_KV_NAMESPACE_ID"},
                                       {"binding": "CACHE_STORE", "namespace_id": "YOUR_CACHE_NAMESPACE_ID"}]
    assert worker["queues"] == [{"binding": "TASK_QUEUE", "queue_name": "pingtopass-tasks"}]
    assert result["queue_consumers"] == [{"queue_name": "pingtopass-tasks", "max_batch_size": 10,
                                          "max_batch_timeout": 30}]
    assert worker["r2_buckets"] == [{"binding": "ASSETS", "bucket_name": "pingtopass-assets"}]
    assert worker["analytics_engine_datasets"] == [{"binding": "ANALYTICS", "dataset": "pingtopass_analytics"}]
    assert result["crons"] == ["0 * * * *", "0 0 * * *", "0 2 * * 0"]
    assert result["workers_dev"] is False
    assert result["routes"] == []
    assert result["account_id"] == "YOUR_ACCOUNT_ID"
    assert result["unsupported"] == ["build", "observability"]
    # Reported, never dropped: the unmapped keys, and the cron Cloudflare rejects (Sunday is 1, not 0).
    assert any("build, observability" in warning for warning in warnings)
    assert any("'0 2 * * 0'" in warning and "day of week" in warning for warning in warnings)


@pytest.mark.parametrize("environment, name, routes, session_id, text_vars, workers_dev", [
    ("development", "pingtopass-dev", [], "DEV_KV_NAMESPACE_ID",
     {"ENVIRONMENT": "development", "NUXT_PUBLIC_SITE_URL": "http://localhost:3000", "LOG_LEVEL": "debug"}, True),
    ("preview", "pingtopass-preview", [{"pattern": "*.preview.pingtopass.com/*", "zone": "pingtopass.com"}],
     "PREVIEW_KV_NAMESPACE_ID",
     {"ENVIRONMENT": "preview", "NUXT_PUBLIC_SITE_URL": "https://preview.pingtopass.com", "LOG_LEVEL": "info"}, False),
    ("staging", "pingtopass-staging", [{"pattern": "staging.pingtopass.com/*", "zone": "pingtopass.com"}],
     "STAGING_KV_NAMESPACE_ID",
     {"ENVIRONMENT": "staging", "NUXT_PUBLIC_SITE_URL": "https://staging.pingtopass.com", "LOG_LEVEL": "info"}, False),
    ("production", "pingtopass-production", [{"pattern": "pingtopass.com/*", "zone": "pingtopass.com"},
                                             {"pattern": "www.pingtopass.com/*", "zone": "pingtopass.com"}],
     "PROD_KV_NAMESPACE_ID",
     {"ENVIRONMENT": "production", "NUXT_PUBLIC_SITE_URL": "https://pingtopass.com", "LOG_LEVEL": "error"}, False),
])
def test_pingtopass_environments(environment, name, routes, session_id, text_vars, workers_dev):
    result, warnings = read_wrangler_config(str(PINGTOPASS / "wrangler.toml"), environment)
    worker = result["worker"]
    assert result["environment"] == environment
    assert worker["name"] == name
    assert result["routes"] == routes
    assert worker["text_vars"] == text_vars
    # Bindings are not inherited: only the environment's own KV namespace, and no queues, R2 or datasets.
    assert worker["kv_namespaces"] == [{"binding": "SESSION_STORE", "namespace_id": session_id}]
    assert worker["queues"] == worker["r2_buckets"] == worker["analytics_engine_datasets"] == []
    assert any("'r2_buckets' exists at the top level but not in env.%s" % environment in w for w in warnings)
    # Inheritable keys come from the top level.
    assert worker["compatibility_date"] == "2024-01-01"
    assert worker["compatibility_flags"] == ["nodejs_compat"]
    assert result["crons"] == ["0 * * * *", "0 0 * * *", "0 2 * * 0"]
    assert result["workers_dev"] is workers_dev


def test_unknown_environment_names_the_defined_ones():
    with pytest.raises(InvalidInputError, match=r"environment 'qa' is not defined \(defined: development, preview, "
                                                r"production, staging\)"):
        read_wrangler_config(str(PINGTOPASS), "qa")


# JSONC --------------------------------------------------------------------------------------------------------

def test_books_jsonc_top_level_maps_every_binding_kind():
    result, warnings = read_wrangler_config(str(BOOKS))
    worker = result["worker"]
    assert result["config_file"] == str(BOOKS / "wrangler.jsonc")
    assert worker["name"] == "books-api-proxy"
    assert worker["main_module"] == str(BOOKS / "src" / "index.js")
    assert worker["text_vars"] == {"API_VERSION": "v2"}
    assert worker["json_vars"] == {"CACHE_TTL_SECONDS": 3600, "FEATURES": {"authors": True}}
    assert worker["kv_namespaces"] == [{"binding": "BOOKS_CACHE", "namespace_id": "b9cade63b6db48fd80c109a013f38fdb"}]
    assert worker["r2_buckets"] == [{"binding": "BOOKS_R2", "bucket_name": "books-cache"}]
    assert worker["durable_objects"] == [{"binding": "RATE_LIMITER", "class_name": "RateLimiter"}]
    assert worker["migrations"] == [
        {"tag": "v1", "new_classes": [], "new_sqlite_classes": ["RateLimiter"], "renamed_classes": [],
         "deleted_classes": [], "transferred_classes": []},
        {"tag": "v2", "new_classes": [], "new_sqlite_classes": [], "deleted_classes": [], "transferred_classes": [],
         "renamed_classes": [{"from": "RateLimiter", "to": "Limiter"}]},
    ]
    assert worker["queues"] == [{"binding": "INDEX_QUEUE", "queue_name": "author-index"}]
    assert result["queue_consumers"] == [{"queue_name": "author-index", "max_batch_size": 10, "max_retries": 3}]
    assert worker["d1_databases"] == [{"binding": "DB", "database_id": "4e1c28a9-90e4-41da-8b4b-6cf36e5abb29",
                                       "database_name": "books"}]
    assert worker["services"] == [{"binding": "AUTH", "service": "books-auth"}]
    assert worker["analytics_engine_datasets"] == [{"binding": "ANALYTICS", "dataset": "books_analytics"}]
    assert result["routes"] == [{"pattern": "books.example.com/api/*", "zone": "example.com"}]
    assert result["custom_domains"] == [{"hostname": "search.example.com", "zone": None}]
    assert result["crons"] == ["*/30 * * * *", "0 3 * * SUN"]
    assert result["workers_dev"] is True
    assert result["unsupported"] == ["observability"]
    assert result["ignored"] == ["kv_namespaces[0].preview_id", "$schema"]
    assert not any("Cloudflare will reject" in warning for warning in warnings)


def test_books_staging_environment():
    result, _warnings = read_wrangler_config(str(BOOKS), "staging")
    worker = result["worker"]
    assert worker["name"] == "books-api-proxy-staging"
    assert result["routes"] == [{"pattern": "staging-books.example.com/api/*", "zone": None}]
    assert result["custom_domains"] == []
    assert worker["text_vars"] == {"API_VERSION": "v2-staging"}
    assert worker["json_vars"] == {}
    assert [kv["binding"] for kv in worker["kv_namespaces"]] == ["BOOKS_CACHE", "AUTHOR_PROFILES"]
    assert [r2["bucket_name"] for r2 in worker["r2_buckets"]] == ["books-cache-staging", "cultural-data-staging"]
    assert worker["durable_objects"] == [] and worker["services"] == []
    assert [m["tag"] for m in worker["migrations"]] == ["v1", "v2"]  # migrations are inheritable
    assert worker["main_module"] == str(BOOKS / "src" / "index.js")


def test_an_empty_environment_gets_the_default_name_and_workers_dev():
    result, warnings = read_wrangler_config(str(BOOKS), "canary")
    assert result["worker"]["name"] == "books-api-proxy-canary"
    assert result["workers_dev"] is True  # set at the top level, inherited
    assert any("'vars' exists at the top level but not in env.canary" in warning for warning in warnings)


def test_strip_jsonc_keeps_strings_and_positions():
    text = '{"a": "http://x/*not a comment*/", // note\n "b": [1, 2,], /* c */ "c": "\\"//",}'
    stripped = strip_jsonc(text)
    assert len(stripped) == len(text) and stripped.count("\n") == text.count("\n")
    assert json.loads(stripped) == {"a": "http://x/*not a comment*/", "b": [1, 2], "c": '"//'}


# Errors -------------------------------------------------------------------------------------------------------

def test_toml_syntax_error_names_file_and_line():
    path = str(FIXTURES / "broken.toml")
    with pytest.raises(InvalidInputError) as error:
        read_wrangler_config(path)
    assert str(error.value).startswith(path + ": TOML syntax error")
    assert "line 4" in str(error.value)


def test_jsonc_syntax_error_names_file_and_line():
    path = str(FIXTURES / "broken.jsonc")
    with pytest.raises(InvalidInputError, match=r"broken.jsonc: JSON syntax error at line 4, column 3"):
        read_wrangler_config(path)


def test_missing_config_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInputError, match="no wrangler configuration in .* wrangler.json, wrangler.jsonc, "
                                                "wrangler.toml"):
        find_config(str(tmp_path))
    with pytest.raises(InvalidInputError, match="does not exist"):
        find_config(str(tmp_path / "wrangler.toml"))


def test_json_wins_over_toml_like_wrangler(tmp_path):
    (tmp_path / "wrangler.toml").write_text('name = "from-toml"\n')
    (tmp_path / "wrangler.json").write_text('{"name": "from-json"}')
    result, _warnings = read_wrangler_config(str(tmp_path))
    assert result["worker"]["name"] == "from-json"
    assert os.path.basename(result["config_file"]) == "wrangler.json"


def test_single_route_and_default_workers_dev(tmp_path):
    (tmp_path / "wrangler.toml").write_text('name = "w"\nroute = { pattern = "a.example.com/*", zone_id = "z1" }\n')
    result, _warnings = read_wrangler_config(str(tmp_path))
    assert result["routes"] == [{"pattern": "a.example.com/*", "zone": "z1"}]
    assert result["workers_dev"] is False  # wrangler: workers.dev defaults to on only without routes


def test_bad_binding_shapes_name_the_entry(tmp_path):
    (tmp_path / "wrangler.toml").write_text('name = "w"\n[[kv_namespaces]]\nbinding = "A"\n')
    with pytest.raises(InvalidInputError, match=r"kv_namespaces\[0\] needs a string 'id'"):
        read_wrangler_config(str(tmp_path))


def test_version_metadata_maps_to_its_binding_name_and_is_not_inherited(tmp_path):
    # wrangler's config: version_metadata = { binding = "NAME" } (environment.ts, @nonInheritable).
    (tmp_path / "wrangler.toml").write_text(
        'name = "w"\nversion_metadata = { binding = "CF_VERSION_METADATA" }\n'
        '[env.staging]\nname = "w-staging"\n[env.prod]\nversion_metadata = { binding = "VERSION" }\n')
    top, _warnings = read_wrangler_config(str(tmp_path))
    assert top["worker"]["version_metadata"] == "CF_VERSION_METADATA" and top["unsupported"] == []
    staging, warnings = read_wrangler_config(str(tmp_path), "staging")
    assert staging["worker"]["version_metadata"] is None
    assert any("'version_metadata' exists at the top level but not in env.staging" in w for w in warnings)
    assert read_wrangler_config(str(tmp_path), "prod")[0]["worker"]["version_metadata"] == "VERSION"


def test_a_version_metadata_without_binding_is_refused(tmp_path):
    (tmp_path / "wrangler.json").write_text('{"name": "w", "version_metadata": {}}')
    with pytest.raises(InvalidInputError, match="version_metadata must be a table with a string 'binding'"):
        read_wrangler_config(str(tmp_path))
