"""Throughput of `parley serve` against a minimal reference bot, measured in one run.

    .venv/bin/python bench/serve.py            # full run (about 5 minutes on 2 cores)
    .venv/bin/python bench/serve.py --quick    # shorter loads, one repetition

Both bots answer `POST /api/v1/chat` by calling the same zero-latency fake OpenAI server (the one
bench/router.py uses, in its own process). The load generator (bench/loadgen.py, aiohttp, its own
process) keeps `concurrency` requests in flight over 200 distinct users. The reference bot keeps each
user's last 20 turns in memory and sends them with the system prompt, as Parley does. Rounds
interleave (reference, Parley, reference, …); for each bot and concurrency it reports messages/s,
errors, p50/p95/p99 latency and the bot process's CPU ms per message (medians over rounds), then the
median of the per-round throughput ratios and of the per-round CPU-per-message ratios.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

HERE = Path(__file__).resolve().parent
CONCURRENCY = (1, 50, 200)
USERS = 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args} exited with {proc.returncode}")
        try:
            httpx.post(url, json={"message": "warm-up", "user_id": "warm"}, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def manifest(model_url: str) -> str:
    return f"""apiVersion: parley.dev/v1alpha1
kind: ChatBot
metadata: {{name: bench}}
spec:
  version: "bench"
  models:
    routes:
      - {{name: main, provider: openai-compatible, baseURL: "{model_url}", model: bench,
         apiKey: {{secretKeyRef: {{name: llm, key: key}}}}, retries: 0}}
  persona: {{systemPrompt: "You are a benchmark bot."}}
  rateLimit: {{perUserPerMinute: 100000}}
  session: {{maxTurns: 20}}
"""


def start_parley(tmp: Path, model_url: str) -> tuple[subprocess.Popen[bytes], str]:
    (tmp / "bot.yaml").write_text(manifest(model_url))
    (tmp / "secrets" / "llm").mkdir(parents=True, exist_ok=True)
    (tmp / "secrets" / "llm" / "key").write_text("bench-key")
    port = free_port()
    env = {**os.environ, "PARLEY_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "parley_runtime.cli",
            "serve",
            "-f",
            str(tmp / "bot.yaml"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--secrets-dir",
            str(tmp / "secrets"),
            "--data-dir",
            str(tmp / "data"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, f"http://127.0.0.1:{port}"


def start_reference(model_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "reference_bot.py"), str(port), model_url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, f"http://127.0.0.1:{port}"


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def load(url: str, pid: int, concurrency: int, seconds: float) -> dict[str, float]:
    bot = psutil.Process(pid)
    before = cpu_seconds(bot)
    out = subprocess.run(
        [
            sys.executable,
            str(HERE / "loadgen.py"),
            url,
            "--concurrency",
            str(concurrency),
            "--seconds",
            str(seconds),
            "--users",
            str(USERS),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout)
    used = cpu_seconds(bot) - before
    result["cpu_ms_per_msg"] = used * 1000 / max(1, result["messages"])
    result["rss_mb"] = bot.memory_info().rss / 2**20
    return result


Cells = dict[int, list[dict[str, float]]]


def one_round(
    start: Callable[[], tuple[subprocess.Popen[bytes], str]],
    seconds: float,
    cells: Cells,
    idle_rss: list[float],
) -> None:
    """Start a bot, load it at every concurrency (after a warm-up), stop it."""
    proc, url = start()
    try:
        wait_until_up(f"{url}/api/v1/chat", proc)
        time.sleep(1.0)
        idle_rss.append(psutil.Process(proc.pid).memory_info().rss / 2**20)
        for concurrency in CONCURRENCY:
            load(url, proc.pid, concurrency, 2)  # warm-up
            cells[concurrency].append(load(url, proc.pid, concurrency, seconds))
    finally:
        proc.terminate()
        proc.wait(20)


def medians(cells: Cells) -> dict[int, dict[str, float]]:
    return {c: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for c, runs in cells.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--reps", type=int)
    args = parser.parse_args()
    seconds = args.seconds or (5.0 if args.quick else 10.0)
    reps = args.reps or (1 if args.quick else 3)

    model_port = free_port()
    model = subprocess.Popen(
        [sys.executable, str(HERE / "router.py"), "--serve", str(model_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    model_url = f"http://127.0.0.1:{model_port}/v1"
    try:
        time.sleep(1.0)
        # Rounds interleave (reference, parley, reference, …): a shared machine drifts by up to 2x
        # between minutes, and only ratios of neighbouring rounds mean anything.
        parley_cells: Cells = {c: [] for c in CONCURRENCY}
        ref_cells: Cells = {c: [] for c in CONCURRENCY}
        parley_idle_rss: list[float] = []
        ref_idle_rss: list[float] = []
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(reps):
                one_round(lambda: start_reference(model_url), seconds, ref_cells, ref_idle_rss)
                one_round(lambda: start_parley(Path(tmp), model_url), seconds, parley_cells, parley_idle_rss)
        parley, ref = medians(parley_cells), medians(ref_cells)
        parley_idle, ref_idle = statistics.median(parley_idle_rss), statistics.median(ref_idle_rss)
        round_ratios = {
            c: [p["rate"] / r["rate"] for p, r in zip(parley_cells[c], ref_cells[c], strict=True)]
            for c in CONCURRENCY
        }
        cpu_ratios = {
            c: [
                p["cpu_ms_per_msg"] / r["cpu_ms_per_msg"]
                for p, r in zip(parley_cells[c], ref_cells[c], strict=True)
                if r["cpu_ms_per_msg"]
            ]
            for c in CONCURRENCY
        }
    finally:
        model.terminate()
        model.wait(10)

    print(f"\nparley serve vs reference bot — {reps} rep(s) × {seconds:.0f} s, {USERS} users, medians\n")
    print(
        f"{'bot':<10}{'conc':>5}{'msg/s':>10}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'CPU ms/msg':>12}{'RSS MB':>9}"
    )
    for name, cells in (("parley", parley), ("reference", ref)):
        for c, r in cells.items():
            print(
                f"{name:<10}{c:>5}{r['rate']:>10.0f}{r['errors']:>8.0f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}"
                f"{r['p99_ms']:>9.1f}{r['cpu_ms_per_msg']:>12.2f}{r['rss_mb']:>9.0f}"
            )
    print(f"\nidle RSS: parley {parley_idle:.0f} MB, reference {ref_idle:.0f} MB")
    for c in CONCURRENCY:
        rounds = ", ".join(f"{x:.2f}" for x in round_ratios[c])
        cpu = statistics.median(cpu_ratios[c]) if cpu_ratios[c] else float("nan")
        print(
            f"concurrency {c}: parley = {statistics.median(round_ratios[c]):.2f} x reference "
            f"(median of rounds {rounds}); CPU per message {cpu:.2f} x reference"
        )


if __name__ == "__main__":
    main()
