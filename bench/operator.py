"""The operator at scale, against KMock: cold start over N ChatBots, and edit → apply latency.

1. Create N ChatBots in the emulator, then start `parley operator` (a subprocess) and time until
   every bot has its engine Deployment and a written Ready status.
2. Edit `spec.version` of a bot (repeated `--edits` times, one at a time) and time until the engine
   Deployment's image carries the new tag.

Reports the operator's CPU seconds and peak RSS (psutil), and the CPU of this process (KMock runs
here, in a thread) so it is clear which side is the bottleneck. KMock's request log is dropped
every poll so that its per-request cost stays flat.

Run: python bench/operator.py --bots 1000 --edits 50
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import kmock
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes.kmock_harness import KMockThread, free_port

NAMESPACE = "bench"
CHATBOTS = kmock.resource("parley.dev/v1alpha1/chatbots")
DEPLOYMENTS = kmock.resource("apps/v1/deployments")


def chatbot(i: int, version: str = "1.0.0") -> dict[str, Any]:
    return {
        "apiVersion": "parley.dev/v1alpha1",
        "kind": "ChatBot",
        "metadata": {"name": f"bot-{i:05d}", "namespace": NAMESPACE},
        "spec": {"version": version, "models": {"routes": [{"name": "e", "provider": "echo", "model": "e"}]}},
    }


def progress(server: KMockThread, names: set[str]) -> tuple[int, int]:
    """(bots with a Ready condition written, engine Deployments present), read inside the emulator."""
    emulator = server.emulator
    assert emulator is not None

    async def count() -> tuple[int, int]:
        objects = emulator.objects
        ready = deployed = 0
        for name in names:
            key = (CHATBOTS, NAMESPACE, name)
            if key in objects and not objects[key].deleted:
                conds = (objects[key].raw.get("status") or {}).get("conditions") or []
                ready += any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)
            dkey = (DEPLOYMENTS, NAMESPACE, name)
            deployed += dkey in objects and not objects[dkey].deleted
        return ready, deployed

    return server.call(count, timeout=60)


def image_of(server: KMockThread, name: str) -> str | None:
    emulator = server.emulator
    assert emulator is not None

    async def read() -> str | None:
        key = (DEPLOYMENTS, NAMESPACE, name)
        if key not in emulator.objects or emulator.objects[key].deleted:
            return None
        containers = emulator.objects[key].raw["spec"]["template"]["spec"]["containers"]
        image: str = containers[0]["image"]
        return image

    return server.call(read)


class Sampler:
    """Peak RSS of a process, sampled every 50 ms from a thread."""

    def __init__(self, proc: psutil.Process) -> None:
        self.proc, self.peak = proc, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except psutil.Error:
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return float(t.user + t.system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    names = {f"bot-{i:05d}" for i in range(args.bots)}
    me = psutil.Process()
    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-"))

    with KMockThread() as server:
        with httpx.Client(base_url=server.url) as http:
            for i in range(args.bots):
                r = http.post(f"/apis/parley.dev/v1alpha1/namespaces/{NAMESPACE}/chatbots", json=chatbot(i))
                r.raise_for_status()
        kubeconfig = server.write_kubeconfig(workdir / "kubeconfig", namespace=NAMESPACE)
        parley = str(Path(sys.executable).with_name("parley"))
        cmd = [
            parley,
            "operator",
            "--metrics-port",
            "0",
            "--liveness",
            f"http://127.0.0.1:{free_port()}/healthz",
        ]
        env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        log = (workdir / "operator.log").open("w")
        own_cpu0 = cpu(me)
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        op = psutil.Process(proc.pid)
        sampler = Sampler(op)
        try:
            ready = deployed = 0
            while time.perf_counter() - started < args.timeout:
                ready, deployed = progress(server, names)
                if ready == deployed == args.bots:
                    break
                time.sleep(0.25)
            cold_seconds = time.perf_counter() - started
            cold_cpu_operator, cold_cpu_kmock = cpu(op), cpu(me) - own_cpu0
            print(json.dumps({"cold_start_seconds": round(cold_seconds, 2), "ready": ready}), file=sys.stderr)
            failed = 0

            latencies: list[float] = []
            with httpx.Client(base_url=server.url) as http:
                for n in range(args.edits):
                    name = f"bot-{(n * 7919) % args.bots:05d}"
                    version = f"2.0.{n}"
                    t0 = time.perf_counter()
                    path = f"/apis/parley.dev/v1alpha1/namespaces/{NAMESPACE}/chatbots/{name}"
                    r = http.patch(
                        path,
                        json={"spec": {"version": version}},
                        headers={"Content-Type": "application/merge-patch+json"},
                    )
                    r.raise_for_status()
                    while not (image_of(server, name) or "").endswith(f":{version}"):
                        if time.perf_counter() - t0 > 30:
                            failed += 1
                            break
                        time.sleep(0.002)
                    else:
                        latencies.append(time.perf_counter() - t0)
        finally:
            sampler.stop()
            total_cpu_operator = cpu(op)
            proc.terminate()
            proc.wait(30)
            log.close()

    result = {
        "bots": args.bots,
        "cold_start_seconds": round(cold_seconds, 2),
        "ready": ready,
        "deployed": deployed,
        "cold_start_cpu_seconds_operator": round(cold_cpu_operator, 2),
        "cold_start_cpu_seconds_kmock_and_bench": round(cold_cpu_kmock, 2),
        "operator_peak_rss_mb": round(sampler.peak / 2**20, 1),
        "edits": len(latencies),
        "edits_not_applied_within_30s": failed,
        "edit_to_apply_p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "edit_to_apply_p90_ms": round(statistics.quantiles(latencies, n=10)[-1] * 1000, 1)
        if len(latencies) >= 10
        else None,
        "operator_cpu_seconds_total": round(total_cpu_operator, 2),
        "operator_log": str(workdir / "operator.log"),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
