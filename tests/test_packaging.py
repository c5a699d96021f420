"""`pip install .` (not only editable) gives a working gateway with its templates and queue data."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_carries_the_data_and_runs_from_anywhere(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path / "dist"), str(ROOT)], check=True
    )
    wheel = next((tmp_path / "dist").glob("frontdesk-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "gateway/_data/templates/notices/acknowledgement.txt",
        "gateway/_data/templates/web/base.html",
        "gateway/_data/queue/queues.toml",
        "gateway/_data/queue/routing.toml",
        "gateway/_data/queue/presets/default.toml",
        "gateway/store/migrations/versions/0001_initial.py",
        "forms/__init__.py",
    ):
        assert expected in names, expected
    assert not any(name.startswith("queue/") or name.startswith("templates/") for name in names)
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)], check=True
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "FRONTDESK_DATA_DIR": str(elsewhere / "var")}
    probe = (
        "import gateway, sys; from gateway.config import load_config; c = load_config();"
        "assert gateway.__file__.startswith(sys.argv[1]), gateway.__file__;"
        "print(c.templates_dir); print(sorted(c.teams))"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(target)], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert str(target / "gateway" / "_data" / "templates") in out.stdout and "safeguarding" in out.stdout
    explain = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "policy", "explain", "--channel", "post", "--received", "2026-11-27T16:45",
         "--json"],
        cwd=elsewhere, env=env, capture_output=True, text=True,
    )
    assert explain.returncode == 0, explain.stderr
    assert '"reply_by"' in explain.stdout


def test_docker_compose_file_is_valid() -> None:
    """`docker compose config` (or Debian's docker-compose) validates it without an engine."""
    import shutil

    docker = shutil.which("docker")
    plugin = docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    compose = [docker, "compose"] if plugin and docker else None
    if compose is None:
        found = shutil.which("docker-compose")
        assert found, "run-tests installs Debian's docker-compose to check this file"
        compose = [found]
    out = subprocess.run([*compose, "-f", str(ROOT / "docker-compose.yml"), "config"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for service in ("redis", "postgres", "gateway", "web", "sweeper", "worker-intake", "worker-safeguarding", "mailcatcher"):
        assert f"  {service}:" in out.stdout


def test_the_code_is_lint_clean() -> None:
    """ruff with the project's rules (B, E, F, I, UP, W, A: A005 also guards the `queue` name)."""
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--quiet", str(ROOT)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
