"""Benchmark: what the sandbox's guards cost per evaluation, and how late the limits fire.

Typical diagram code (a gateway condition, a timer expression, a small script) is evaluated many times; the
attacks show how long after the time limit the error comes and that it comes at all (issue 10 item 8).

    .venv/bin/python bench/sandbox_guards.py [--runs N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.sandbox import SandboxEnvironment, ScriptError  # noqa: E402

TYPICAL = [
    ("eval", "besluit == 'melden'"),
    ("eval", "risico_hoog_en_acuut == True and professional_kan_niet_vergroten == True"),
    ("eval", "werkdagen(5)"),
    ("exec", "rondes = rondes + 1\nsignalen_kort = [s.lower().strip() for s in signalen]"),
]
ATTACKS = [
    "''.join(['x' * 1000000] * 1000)",
    "s = ['x']\nfor i in range(100):\n    s = s + s",
    "[[i] * 1000 for i in range(100000)]",
    "t = ()\nfor i in range(60):\n    t = (t, t)\nh = {t}",
    "sum(1 for i in range(100000) for j in range(100000))",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20_000)
    args = parser.parse_args()
    env = SandboxEnvironment({"werkdagen": lambda n: f"+{n}"}, time_limit=1.0)
    data = {"besluit": "melden", "risico_hoog_en_acuut": True, "professional_kan_niet_vergroten": True,
            "rondes": 1, "signalen": [" Blauwe plekken ", "angst"], **{f"veld{i}": i for i in range(40)}}
    for mode, source in TYPICAL:
        samples = []
        for _ in range(args.runs):
            started = time.perf_counter()
            if mode == "eval":
                env.evaluate(source, data)
            else:
                env.execute(source, dict(data))
            samples.append(time.perf_counter() - started)
        print(f"{mode} {source.splitlines()[0][:60]!r:64} median {statistics.median(samples) * 1e6:6.1f} µs")
    for source in ATTACKS:
        started = time.perf_counter()
        try:
            env.execute(source, {})
            outcome = "no error (!)"
        except ScriptError as err:
            outcome = err.reason
        print(f"attack {source.splitlines()[0][:40]!r:44} {time.perf_counter() - started:5.2f} s  {outcome}")


if __name__ == "__main__":
    main()
