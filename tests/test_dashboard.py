"""`neurallab dashboard` serves the tracked runs on localhost."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request


def test_dashboard_serves_runs_on_localhost(tmp_path):
    env = {**os.environ, "TRACKIO_DIR": str(tmp_path / "trackio")}
    port = 7931
    proc = subprocess.Popen(
        [sys.executable, "-m", "neurallab.cli", "dashboard", "--port", str(port)],
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
    finally:
        proc.terminate()
        proc.wait(timeout=30)
