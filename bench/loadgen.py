"""A closed-loop load generator: `concurrency` workers, each sending its next message when the last
one was answered, spread over `users` distinct users. Prints one JSON line of results.

Run: python bench/loadgen.py URL --concurrency 50 --seconds 10 --users 200
"""

import argparse
import asyncio
import json
import time

import aiohttp


async def run(url: str, concurrency: int, seconds: float, users: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    end = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(index: int) -> None:
            nonlocal errors
            n = 0
            while time.perf_counter() < end:
                user = f"user-{(index + n * concurrency) % users}"
                n += 1
                started = time.perf_counter()
                try:
                    async with session.post(
                        f"{url}/api/v1/chat",
                        json={"message": f"hello {n}", "user_id": user, "session_id": user},
                    ) as resp:
                        await resp.read()
                        ok = resp.status == 200
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    return {
        "messages": len(latencies),
        "errors": errors,
        "seconds": elapsed,
        "rate": len(latencies) / elapsed,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--users", type=int, default=200)
    a = p.parse_args()
    print(json.dumps(asyncio.run(run(a.url, a.concurrency, a.seconds, a.users))))


if __name__ == "__main__":
    main()
