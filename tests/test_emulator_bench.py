"""The echo-bot baseline of the intake benchmark runs end to end (as ``python -m benchmarks.echo_bot``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_echo_baseline_echoes_every_message_and_reports_figures() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.echo_bot", "--messages", "60", "--users", "12", "--rate", "200"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    burst, paced = (json.loads(line) for line in out.splitlines())
    for result in (burst, paced):
        assert result["messages"] == 60 and result["users"] == 12 and result["duplicates"] == 0
        assert result["throughput_msg_s"] > 0 and result["seconds"] > 0
        assert 0 <= result["latency_p50_ms"] <= result["latency_p99_ms"] <= result["latency_max_ms"]
    assert burst["injection_rate"] == "burst" and paced["injection_rate"] == 200.0
    assert paced["seconds"] >= 0.29  # 60 messages paced at 200/s cannot finish sooner
