"""`neurallab dashboard` serves the tracked runs on localhost: a logged run is listed by it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_dashboard_serves_the_runs_of_its_project(tmp_path):
    env = {**os.environ, "TRACKIO_DIR": str(tmp_path / "trackio")}
    # A tracked run in its own project, logged through neurallab's trackio tracker and named
    # as reproduce names runs (a separate process: trackio reads TRACKIO_DIR on import).
    log_run = (
        "import sys; from pathlib import Path; from neurallab.tracking import Run, make_tracker\n"
        "t = make_tracker('trackio', 'dash-test', 'parity-h4-s0', {'lr': 0.1}, Path(sys.argv[1]), False)\n"
        "run = Run(Path(sys.argv[1]), t)\n"
        "[run.log({'train/loss': 1.0 / (i + 1)}, step=i) for i in range(3)]\n"
        "run.finish()\n"
    )
    subprocess.run(
        [sys.executable, "-c", log_run, str(tmp_path / "run")], env=env, check=True, cwd=tmp_path
    )

    port = 7931
    proc = subprocess.Popen(
        [sys.executable, "-m", "neurallab.cli", "dashboard", "--project", "dash-test"]
        + ["--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, status = time.time() + 90, None
        while time.time() < deadline and status != 200:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    status = response.status
            except OSError:
                time.sleep(0.5)
        assert status == 200
        # What the dashboard's own page asks its server for: the runs of the project.
        runs = _post(f"http://127.0.0.1:{port}/api/get_runs_for_project", {"project": "dash-test"})
        names = json.dumps(runs["data"])
        assert "parity-h4-s0" in names, runs
        other = _post(f"http://127.0.0.1:{port}/api/get_runs_for_project", {"project": "nothing"})
        assert "parity-h4-s0" not in json.dumps(other.get("data"))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
