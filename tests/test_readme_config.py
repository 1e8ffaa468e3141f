"""The README's configuration table lists every ``BAYLINE_*`` variable the code reads: literal names in
the shipped code and deploy files, ``option(settings, "name")`` (``BAYLINE_<NAME>``) and plugin keys
read through ``plugin_config("<plugin>")`` (``BAYLINE_PLUGIN_<PLUGIN>_<KEY>``)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bayline.config import ConfigError, flask_env_config

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"\bBAYLINE_[A-Z0-9_]*[A-Z0-9]\b")
OPTION = re.compile(r"\boption\(\s*settings\s*,\s*\"([a-z0-9_]+)\"")
PLUGIN = re.compile(r"\bplugin_config\(\s*\"([a-z0-9_]+)\"\s*\)")
PLUGIN_KEY = re.compile(r"\.(?:get_str|get_int|get_bool|get_list|require)\(\s*\"([a-z0-9_]+)\"")


def _shipped_files() -> list[Path]:
    files = [p for d in ("core", "web", "tenants") for p in (ROOT / d).rglob("*.py")]
    files += [p for p in (ROOT / "plugins").glob("*/bayline_*/**/*.py") if "tests" not in p.parts]
    files += [p for p in (ROOT / "deploy").iterdir() if p.is_file()]
    return files


def variables_read() -> set[str]:
    found: set[str] = set()
    for path in _shipped_files():
        text = path.read_text(encoding="utf-8")
        found |= set(NAME.findall(text))
        found |= {f"BAYLINE_{n.upper()}" for n in OPTION.findall(text)}
        plugins = set(PLUGIN.findall(text))
        if len(plugins) == 1:  # a module reading one plugin's configuration (cfg = plugin_config("sms"))
            plugin = plugins.pop().upper()
            found |= {f"BAYLINE_PLUGIN_{plugin}_{k.upper()}" for k in PLUGIN_KEY.findall(text)}
    # a name that only begins others (startswith("BAYLINE_TEST")) is a prefix, not a variable
    return {n for n in found if not any(o.startswith(n + "_") for o in found)}


def readme_table() -> set[str]:
    rows = [line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    return {m for line in rows for m in re.findall(r"^\| `([A-Z0-9_<>]+)`", line)}


def test_every_variable_read_in_code_is_in_the_readme_table():
    read = variables_read()
    assert {"BAYLINE_STORAGE_URL", "BAYLINE_SENTRY_TRACES_SAMPLE_RATE", "BAYLINE_PLUGIN_SMS_TELNYX_MAX_RETRIES",
            "BAYLINE_SMTP_URL", "BAYLINE_TEST_READY_SECONDS"} <= read  # the scan sees all three ways
    missing = sorted(read - readme_table())
    assert not missing, f"add these to the README's configuration table: {missing}"


def test_the_table_names_the_plugin_pattern():
    assert "BAYLINE_PLUGIN_<NAME>_<KEY>" in readme_table()


def test_flask_config_settings_come_from_the_environment(tmp_path):
    from bayline import create_app

    config = {"database_url": f"sqlite:///{tmp_path / 'db.sqlite'}", "env": "test",
              "instance_dir": tmp_path / "instance"}
    app = create_app(config, environ={"BAYLINE_SMTP_URL": "smtp://mail.example.com:2525",
                                      "BAYLINE_MAIL_FROM": "desk@x.test", "BAYLINE_SSE_MAX_PER_IP": "7",
                                      "BAYLINE_RAISE_HOOK_ERRORS": "0"})
    assert create_app(config, environ={"BAYLINE_SMTP_URL": "smtp://a.test"}).config.get("BAYLINE_MAIL_FROM") is None
    assert app.config["BAYLINE_SMTP_URL"] == "smtp://mail.example.com:2525"
    assert app.config["BAYLINE_MAIL_FROM"] == "desk@x.test"
    assert app.config["BAYLINE_SSE_MAX_PER_IP"] == 7
    assert app.config["BAYLINE_RAISE_HOOK_ERRORS"] is False


@pytest.mark.parametrize("env", [{"BAYLINE_SSE_MAX_SECONDS": "soon"}, {"BAYLINE_SSE_MAX_PER_IP": "0"},
                                 {"BAYLINE_CHECK_EVENT_PAYLOADS": "maybe"}])
def test_a_bad_flask_config_value_names_the_variable(env):
    with pytest.raises(ConfigError, match=next(iter(env))):
        flask_env_config(env)
