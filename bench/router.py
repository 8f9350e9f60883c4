"""Router overhead benchmark: raw httpx vs Parley's Router vs LiteLLM's Router, one local fake server.

    .venv/bin/python bench/router.py            # full run (a few minutes on 2 cores)
    .venv/bin/python bench/router.py --quick    # fewer requests and repetitions

The fake OpenAI server is a minimal asyncio HTTP/1.1 server in its own process answering one fixed
completion (or a fixed SSE stream), so its cost never lands on the client. Each measurement runs
in a fresh client process, which reports requests/s, client CPU ms per request (process_time)
and latency percentiles; the table shows medians over the repetitions.

LiteLLM is never a dependency of Parley: the client for (c) runs under the first Python that can
import it: $PARLEY_BENCH_LITELLM_PYTHON, /tmp/litellm-venv/bin/python, or this interpreter. If none
can, (c) is reported as missing and the rest still runs.

Modules are imported inside functions so that the LiteLLM client process (a venv without Parley)
can load this file.
"""

from __future__ import annotations

import os
import sys

# Run as a script, this folder is first on sys.path: keep sibling bench files from shadowing the
# standard library (a bench/operator.py would replace `operator` for everything imported below).
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
MESSAGES = [{"role": "user", "content": "Hello, how are you today?"}]
ANSWER_WORDS = ["Hello!", "I", "am", "fine,", "thank", "you.", "How", "can", "I", "help", "you", "today?"]
LITELLM_PYTHONS = [
    os.environ.get("PARLEY_BENCH_LITELLM_PYTHON", ""),
    "/tmp/litellm-venv/bin/python",
    sys.executable,
]

# --- the fake server ---------------------------------------------------------------------------------


def _bodies() -> tuple[bytes, bytes]:
    usage = {
        "prompt_tokens": 12,
        "completion_tokens": len(ANSWER_WORDS),
        "total_tokens": 12 + len(ANSWER_WORDS),
    }
    completion = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "bench-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": " ".join(ANSWER_WORDS)},
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
    }

    def chunk(delta: dict[str, object] | None, finish: str | None = None, **extra: object) -> str:
        body = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "bench-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if delta is not None else [],
            **extra,
        }
        return f"data: {json.dumps(body)}\n\n"

    frames = [chunk({"role": "assistant", "content": ""})]
    frames += [chunk({"content": w if i == 0 else " " + w}) for i, w in enumerate(ANSWER_WORDS)]
    frames.append(chunk({}, "stop"))
    frames.append(chunk(None, usage=usage))
    frames.append("data: [DONE]\n\n")
    return json.dumps(completion).encode(), "".join(frames).encode()


def _response(body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
        "connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


class _FakeOpenAI(asyncio.Protocol):
    """Keep-alive HTTP/1.1 with Content-Length bodies only: all a benchmark client sends."""

    plain = b""
    streamed = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            body, self.buffer = self.buffer[end + 4 : total], self.buffer[total:]
            streaming = b'"stream":true' in body.replace(b" ", b"")
            self.transport.write(self.streamed if streaming else self.plain)  # type: ignore[attr-defined]


def serve(port: int) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    plain, streamed = _bodies()
    _FakeOpenAI.plain = _response(plain, "application/json")
    _FakeOpenAI.streamed = _response(streamed, "text/event-stream")

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_FakeOpenAI, "127.0.0.1", port, backlog=1024)
        print("ready", flush=True)
        await server.serve_forever()

    asyncio.run(main())


# --- the clients -------------------------------------------------------------------------------------


async def _direct_client(base: str, stream: bool):  # type: ignore[no-untyped-def]
    import httpx

    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=100))
    url, headers = f"{base}/chat/completions", {"authorization": "Bearer sk-bench"}

    async def call() -> str:
        payload = {"model": "bench-model", "messages": MESSAGES}
        if not stream:
            response = await client.post(url, json=payload, headers=headers)
            response.raise_for_status()
            return str(json.loads(response.content)["choices"][0]["message"]["content"])
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
        text = []
        async with client.stream("POST", url, json=payload, headers=headers) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    for choice in json.loads(line[6:])["choices"]:
                        text.append(choice["delta"].get("content") or "")
        return "".join(text)

    return call, client.aclose


async def _parley_client(base: str, stream: bool, shared: bool = False):  # type: ignore[no-untyped-def]
    import httpx

    sys.path.insert(0, str(ROOT / "runtime"))
    from parley_runtime.config.models import Models
    from parley_runtime.config.secrets import Secrets
    from parley_runtime.core.chat import ChatMessage, ChatRequest
    from parley_runtime.llm.aiohttp_transport import SharedClient
    from parley_runtime.llm.router import build_router
    from parley_runtime.observability.metrics import Metrics

    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    client = SharedClient(max_connections=100) if shared else httpx.AsyncClient(limits=limits)
    models = Models.model_validate(
        {
            "routes": [
                {
                    "name": "bench",
                    "provider": "openai-compatible",
                    "model": "bench-model",
                    "baseURL": base,
                    "apiKey": {"secretKeyRef": {"name": "llm", "key": "bench"}},
                }
            ]
        }
    )
    router = build_router(models, Secrets({("llm", "bench"): "sk-bench"}), client, Metrics())
    request = ChatRequest(messages=tuple(ChatMessage(role="user", content=m["content"]) for m in MESSAGES))

    async def call() -> str:
        if not stream:
            return (await router.complete(request)).text
        return "".join([chunk.delta async for chunk in router.stream(request)])

    return call, client.aclose


async def _litellm_client(base: str, stream: bool):  # type: ignore[no-untyped-def]
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import logging

    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    logging.getLogger("LiteLLM").setLevel(logging.ERROR)
    logging.getLogger("LiteLLM Router").setLevel(logging.ERROR)
    router = litellm.Router(
        model_list=[
            {
                "model_name": "bench",
                "litellm_params": {"model": "openai/bench-model", "api_base": base, "api_key": "sk-bench"},
            }
        ]
    )

    async def call() -> str:
        if not stream:
            response = await router.acompletion(model="bench", messages=MESSAGES)
            return str(response.choices[0].message.content)
        response = await router.acompletion(model="bench", messages=MESSAGES, stream=True)
        return "".join([chunk.choices[0].delta.content or "" async for chunk in response if chunk.choices])

    async def close() -> None:
        return None

    return call, close


async def _aiohttp_direct_client(base: str, stream: bool):  # type: ignore[no-untyped-def]
    """Reference point for the transport question: the same call on raw aiohttp."""
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
    url, headers = f"{base}/chat/completions", {"authorization": "Bearer sk-bench"}

    async def call() -> str:
        payload: dict[str, object] = {"model": "bench-model", "messages": MESSAGES}
        if stream:
            payload.update(stream=True, stream_options={"include_usage": True})
        async with session.post(url, json=payload, headers=headers) as response:
            response.raise_for_status()
            if not stream:
                return str(json.loads(await response.read())["choices"][0]["message"]["content"])
            text = []
            async for raw in response.content:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("data: ") and line != "data: [DONE]":
                    for choice in json.loads(line[6:])["choices"]:
                        text.append(choice["delta"].get("content") or "")
            return "".join(text)

    return call, session.close


async def _parley_aiohttp_client(base: str, stream: bool):  # type: ignore[no-untyped-def]
    """Parley's Router on the client `parley serve` builds: `SharedClient`, httpx over aiohttp, whose
    whole-answer POSTs go straight through aiohttp (streams still go through httpx)."""
    return await _parley_client(base, stream, shared=True)


CLIENTS = {
    "direct": _direct_client,
    "parley": _parley_client,
    "litellm": _litellm_client,
    "direct-aiohttp": _aiohttp_direct_client,
    "parley-aiohttp": _parley_aiohttp_client,
}


async def _measure(client: str, base: str, stream: bool, concurrency: int, requests: int) -> dict[str, float]:
    call, close = await CLIENTS[client](base, stream)
    expected = " ".join(ANSWER_WORDS)
    for _ in range(max(20, concurrency)):  # warm-up: connections, caches, lazy imports
        assert (await call()) == expected
    latencies: list[float] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - start)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await close()
    latencies.sort()
    return {
        "rps": len(latencies) / wall,
        "cpu_ms": 1000 * cpu / len(latencies),
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1],
    }


# --- the orchestrator --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _litellm_python() -> str | None:
    for python in LITELLM_PYTHONS:
        if python and Path(python).exists():
            probe = subprocess.run(
                [python, "-c", "import litellm"], capture_output=True, env=_env(), check=False
            )
            if probe.returncode == 0:
                return python
    return None


def _env() -> dict[str, str]:
    return {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONWARNINGS": "ignore"}


def _run_client(python: str, args: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [python, str(HERE), "--client", *args], capture_output=True, text=True, env=_env(), check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"client {args} failed:\n{out.stderr[-2000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def orchestrate(quick: bool, reps: int) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, str(HERE), "--serve", str(port)], stdout=subprocess.PIPE, text=True, env=_env()
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        base = f"http://127.0.0.1:{port}/v1"
        litellm_python = _litellm_python()
        clients = {name: sys.executable for name in ("direct", "direct-aiohttp", "parley", "parley-aiohttp")}
        if litellm_python:
            clients["litellm"] = litellm_python
        sizes = {1: 100 if quick else 300, 50: 400 if quick else 1000}
        results: dict[tuple[str, bool, int], dict[str, float]] = {}
        for stream in (False, True):
            for concurrency, n in sizes.items():
                for name, python in clients.items():
                    runs = [
                        _run_client(python, [name, base, str(int(stream)), str(concurrency), str(n)])
                        for _ in range(reps)
                    ]
                    results[(name, stream, concurrency)] = {
                        k: statistics.median(r[k] for r in runs) for k in runs[0]
                    }
                    row = results[(name, stream, concurrency)]
                    print(
                        f"  measured {name:8} stream={int(stream)} c={concurrency:<3} "
                        f"{row['rps']:8.0f} req/s {row['cpu_ms']:6.3f} cpu-ms/req",
                        file=sys.stderr,
                        flush=True,
                    )
        _report(results, litellm_python, reps, sizes)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _report(results, litellm_python, reps, sizes) -> None:  # type: ignore[no-untyped-def]
    print(
        f"\nmedians of {reps} runs; requests per run: c=1 {sizes[1]}, c=50 {sizes[50]}; cpus={os.cpu_count()}"
    )
    print("| client | stream | concurrency | req/s | client CPU ms/req | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for (name, stream, c), r in results.items():
        print(
            f"| {name} | {'yes' if stream else 'no'} | {c} | {r['rps']:.0f} | {r['cpu_ms']:.3f} "
            f"| {r['p50_ms']:.3f} | {r['p99_ms']:.3f} |"
        )
    print()
    for stream in (False, True):
        for c in (1, 50):
            print(f"stream={'yes' if stream else 'no'} c={c}:")
            lite = results.get(("litellm", stream, c))
            for parley_name, direct_name in (("parley", "direct"), ("parley-aiohttp", "direct-aiohttp")):
                parley, direct = results[(parley_name, stream, c)], results[(direct_name, stream, c)]
                line = f"  {parley_name:15} vs {direct_name:15} req/s x{parley['rps'] / direct['rps']:.2f}"
                if c == 1:
                    line += f", added p50 {parley['p50_ms'] - direct['p50_ms']:+.3f} ms"
                line += f", added CPU {parley['cpu_ms'] - direct['cpu_ms']:+.3f} ms/req"
                if lite:
                    line += (
                        f"; vs litellm: req/s x{parley['rps'] / lite['rps']:.1f}, "
                        f"per client core x{lite['cpu_ms'] / parley['cpu_ms']:.1f}"
                    )
                print(line)
    if not litellm_python:
        print(
            "(c) LiteLLM missing: no interpreter could import litellm (tried "
            f"{[p for p in LITELLM_PYTHONS if p]}); install it in a separate venv, e.g. "
            "python -m venv /tmp/litellm-venv && /tmp/litellm-venv/bin/pip install litellm"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--client", nargs=5, metavar="X", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="fewer requests and repetitions")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per cell (default 3, quick 2)")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
    elif args.client:
        name, base, stream, concurrency, requests = args.client
        result = asyncio.run(_measure(name, base, stream == "1", int(concurrency), int(requests)))
        print(json.dumps(result))
    else:
        orchestrate(args.quick, args.reps or (2 if args.quick else 3))


if __name__ == "__main__":
    main()
