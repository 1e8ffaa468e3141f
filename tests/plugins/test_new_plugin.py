"""``flask bayline new-plugin``: bad names are refused with nothing written; a plugin scaffolded
outside the repo, ``pip install -e``-ed (into a child virtualenv, no network), migrated and granted
with the CLI shows its panel and portal card, its API resource is in ``openapi.json``, and its own
generated tests pass on SQLite and PostgreSQL (and fail, not skip, while it is not installed)."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from bayline.testing.databases import POSTGRES_ENV, REDIS_ENV

REPO = Path(__file__).resolve().parents[2]
CHECK = Path(__file__).with_name("scaffold_check.py")
OWNER = "owner@harbor.example"


@pytest.mark.parametrize("name, message", [
    ("Widget", "is not a valid plugin name"),
    ("my-plugin", "is not a valid plugin name"),
    ("my_plugin", "is not a valid plugin name"),
    ("1st", "is not a valid plugin name"),
    ("x", "is not a valid plugin name"),
    ("class", "is not a valid plugin name"),
    ("my.plugin", "is not a valid plugin name"),
    ("sms", "already the name of an installed plugin or feature"),
    ("portal", "already the name of an installed plugin or feature"),
    ("photos", "already the name of an installed plugin or feature"),
])
def test_bad_names_are_refused_and_nothing_is_written(app, tmp_path, name, message):
    if name == "sms" and "sms" not in app.extensions["bayline.plugins"].plugins:
        pytest.fail("the bundled SMS plugin should be installed in the test environment")
    work = tmp_path / "work"
    work.mkdir()
    result = app.test_cli_runner().invoke(args=["bayline", "new-plugin", name, "--path", str(work / "p")])
    assert result.exit_code == 1 and message in result.output, result.output
    assert list(work.iterdir()) == []


def test_an_existing_folder_is_refused_untouched(app, tmp_path):
    target = tmp_path / "work" / "taken"
    target.mkdir(parents=True)
    (target / "keep.txt").write_text("mine")
    result = app.test_cli_runner().invoke(args=["bayline", "new-plugin", "brakes", "--path", str(target)])
    assert result.exit_code == 1 and "exists already" in result.output
    assert [p.name for p in target.iterdir()] == ["keep.txt"] and list(target.parent.iterdir()) == [target]


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=1200)


def _out(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stdout + result.stderr)[-6000:]


def test_scaffolded_plugin_installs_grants_and_passes_its_own_tests(tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    assert REPO not in outside.parents
    name = "n" + secrets.token_hex(3)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "BAYLINE_", "FLASK_", "PYTEST_"))}
    env |= {k: os.environ[k] for k in (POSTGRES_ENV, REDIS_ENV) if os.environ.get(k)}
    app_env = env | {"FLASK_APP": "bayline:create_app", "BAYLINE_DATABASE_URL": f"sqlite:///{outside}/site.db",
                     "BAYLINE_INSTANCE_DIR": str(outside / "instance")}
    project = outside / f"bayline-{name}"

    made = _run([sys.executable, "-m", "flask", "bayline", "new-plugin", name, "--path", str(project)], app_env,
                outside)
    assert made.returncode == 0, _out(made)
    package = project / f"bayline_{name}"
    [first] = (package / "migrations" / "versions").glob("*.py")
    revision = first.read_text()
    assert f"branch_labels = ('{name}',)" in revision and f"op.create_table('{name}_notes'" in revision
    assert "bayline.plugin_api.UTCDateTime" in revision and "bayline.db" not in revision
    assert (package / "templates" / f"bayline_{name}" / "panel.html").is_file()
    assert f'{name} = "bayline_{name}"' in (project / "pyproject.toml").read_text()

    # not installed yet: its tests fail (they never skip); -P: the project folder is not on sys.path,
    # as with the ``pytest`` command
    bare = _run([sys.executable, "-P", "-m", "pytest", "-q", "-p", "no:xdist"], env, project)
    assert bare.returncode != 0 and f"No module named 'bayline_{name}'" in _out(bare), _out(bare)
    assert "skipped" not in bare.stdout

    # a child virtualenv that sees this one's packages; pip install -e with no index and no isolation
    venv = outside / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    child_site = Path(subprocess.check_output([python, "-c", purelib], text=True, timeout=120).strip())
    parent_site = sysconfig.get_paths()["purelib"]
    (child_site / "_bayline_parent_env.pth").write_text(f"import site; site.addsitedir({parent_site!r})\n")
    pip = [sys.executable, "-m", "pip", "--python", python]
    install = _run([*pip, "install", "-q", "--no-deps", "--no-index", "--no-build-isolation", "-e", str(project)],
                   env, outside)
    assert install.returncode == 0, _out(install)
    try:
        flask = [python, "-m", "flask"]
        steps = [["db", "upgrade"], ["bayline", "create-shop", "--group", "Harbor", "--name", "Harbor", "--slug",
                                     "harbor"],
                 ["bayline", "create-user", "--email", OWNER, "--name", "Owner", "--shop", "harbor", "--password",
                  "correct-horse-42"],
                 ["bayline", "features", "grant", "--shop", "harbor", name]]
        outputs = []
        for args in steps:
            step = _run(flask + args, app_env, outside)
            assert step.returncode == 0, (args, _out(step))
            outputs.append(step.stdout)
        assert f"upgraded {name}" in outputs[0] and f"granted {name} to harbor" in outputs[-1]

        checked = _run([python, str(CHECK), name, "harbor", OWNER], app_env, outside)
        assert checked.returncode == 0 and checked.stdout.strip().endswith("ok"), _out(checked)

        own = _run([python, "-P", "-m", "pytest", "-q", "-p", "no:xdist", "-rs"], env, project)
        assert own.returncode == 0, _out(own)
        if os.environ.get(POSTGRES_ENV):
            assert "skipped" not in own.stdout, _out(own)  # both backends ran
    finally:
        _run([*pip, "uninstall", "-y", "-q", f"bayline-{name}"], env, outside)
    assert not list(child_site.glob(f"*bayline_{name}*")), sorted(p.name for p in child_site.iterdir())
