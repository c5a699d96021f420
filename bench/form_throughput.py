"""Valid form POSTs per second: the frontdesk form (committed to the store) against a bare Flask-WTF form.

Both apps run under gunicorn with 2 sync workers and are driven by `wrk` with 20 connections in the
same run. Each POST carries a real CSRF token: one token + session cookie pair is fetched per app
before the run (a token is valid for the session cookie it came with). Every frontdesk POST has
different details and a new one-time key, so each one is a new submission: committed to the store,
a case opened and an intake job queued, before the 303 to the confirmation page.

    .venv/bin/python bench/form_throughput.py [--duration 10] [--database-url URL] [--redis-url URL]

Prints requests/s and p99 latency for both, the ratio, and how many submissions were committed.
Uses Redis database 12 by default (flushed before and after: the bench's queued intake jobs).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")
LUA = r"""
counter = 0
thread_id = 0
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
end
request = function()
  counter = counter + 1
  local key = string.format("%08d%024d", thread_id, counter)
  local body = "csrf_token=" .. TOKEN .. "&about=complaint&key=" .. key
    .. "&details=The+bus+was+late+again+" .. thread_id .. "-" .. counter
    .. "&reply=email&email=sam%40example.com&name=Sam+Jones"
  return wrk.format("POST", PATH, {["Cookie"] = COOKIE,
    ["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
"""


def bare_app() -> object:
    """The baseline: a Flask-WTF form with CSRF that only validates the same kind of answers."""
    from flask import Flask, render_template_string
    from flask_wtf import FlaskForm
    from wtforms import StringField, TextAreaField
    from wtforms.validators import DataRequired, Email, Length

    class Bare(FlaskForm):
        details = TextAreaField(validators=[DataRequired(), Length(max=15000)])
        reply = StringField(validators=[DataRequired()])
        email = StringField(validators=[DataRequired(), Email()])
        name = StringField(validators=[Length(max=200)])

    app = Flask("bare")
    app.config["SECRET_KEY"] = "bench"

    @app.route("/details", methods=["GET", "POST"])
    def details() -> object:
        form = Bare()
        if form.validate_on_submit():
            return "sent"
        status = 400 if form.errors else 200
        return render_template_string('<input name="csrf_token" value="{{ form.csrf_token.current_token }}">', form=form), status

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(app_spec: str, port: int, cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [str(GUNICORN), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning", app_spec]
    proc = subprocess.Popen(command, cwd=cwd, env=env)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/details?about=complaint", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{app_spec} did not start on port {port}")


def token_and_cookie(base: str) -> tuple[str, str]:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/details?about=complaint").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if token is None:
        raise RuntimeError(f"no CSRF token on {base}")
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return token.group(1), cookie


def run_wrk(base: str, duration: int, workdir: Path, name: str) -> tuple[float, float, str]:
    token, cookie = token_and_cookie(base)
    script = workdir / f"{name}.lua"
    header = f'TOKEN = "{token}"\nCOOKIE = "{cookie}"\nPATH = "/details"\n'
    script.write_text(header + LUA)
    command = ["wrk", "-t2", "-c20", f"-d{duration}s", "--latency", "-s", str(script), base + "/details"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99_ms, f"{bad.group(1)} non-2xx/3xx" if bad else "all 2xx/3xx"


def committed(database_url: str) -> int:
    from sqlalchemy import create_engine, text

    from gateway.store.db import normalise_url

    engine = create_engine(normalise_url(database_url))
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM raw_message WHERE source = 'form'")).scalar() or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import redis

    queue_db = redis.Redis.from_url(args.redis_url)
    queue_db.flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "var").mkdir()
        database_url = args.database_url or f"sqlite:///{work / 'var' / 'frontdesk.db'}"
        (work / "frontdesk.toml").write_text(f'[gateway]\ndata_dir = "{work / "var"}"\n\n[form]\nrate_limit = 1000000000\n')
        env = {
            **os.environ,
            "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}",
            "DATABASE_URL": database_url,
            "REDIS_URL": args.redis_url,
            "FRONTDESK_SECRET_KEY": "bench",
        }
        ours_port, bare_port = free_port(), free_port()
        ours = start("forms:create_app()", ours_port, work, env)
        bare = start("form_throughput:bare_app()", bare_port, work, env)
        try:
            results = {}
            for name, port in (("bare Flask-WTF", bare_port), ("frontdesk form", ours_port)):
                base = f"http://127.0.0.1:{port}"
                run_wrk(base, 2, work, name.split()[0] + "-warm")
                results[name] = run_wrk(base, args.duration, work, name.split()[0])
            stored = committed(database_url)
        finally:
            for proc in (ours, bare):
                proc.terminate()
                proc.wait(10)
            queue_db.flushdb()
    for name, (rps, p99, note) in results.items():
        print(f"{name:16} {rps:9.1f} req/s   p99 {p99:7.1f} ms   ({note})")
    ratio = results["frontdesk form"][0] / results["bare Flask-WTF"][0]
    print(f"ratio {ratio:.2f} (goal >= 0.35); frontdesk p99 goal < 100 ms; {stored} submissions committed")
    print(f"store: {'SQLite' if database_url.startswith('sqlite') else database_url.split('@')[-1]}")


if __name__ == "__main__":
    main()
