"""The baseline for bench/serve.py: the thinnest bot that does the same job as `parley serve` — one
model call per message with the user's last 20 turns of history (kept in memory), no persistence.

Without history the baseline would flatter itself: every Parley message carries its session to the
model and back, and so does every real bot.

Run: python bench/reference_bot.py PORT MODEL_URL
"""

import sys
from collections import defaultdict, deque

import aiohttp
from aiohttp import web

TURNS = 20
SYSTEM = {"role": "system", "content": "You are a benchmark bot."}


def make_app(model_url: str) -> web.Application:
    app = web.Application()
    history: defaultdict[str, deque[dict[str, str]]] = defaultdict(lambda: deque(maxlen=2 * TURNS))

    async def start(app: web.Application) -> None:
        app["http"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512))

    async def stop(app: web.Application) -> None:
        await app["http"].close()

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        user = str(body.get("user_id") or body.get("session_id") or "-")
        turns = history[user]
        question = {"role": "user", "content": body["message"]}
        payload = {"model": "bench", "messages": [SYSTEM, *turns, question]}
        async with request.app["http"].post(f"{model_url}/chat/completions", json=payload) as resp:
            answer = await resp.json()
        text = answer["choices"][0]["message"]["content"]
        turns.extend((question, {"role": "assistant", "content": text}))
        return web.json_response(
            {"reply": text, "session_id": user, "model": answer.get("model", "bench"), "track": "stable"}
        )

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_post("/api/v1/chat", chat)
    return app


if __name__ == "__main__":
    web.run_app(make_app(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
