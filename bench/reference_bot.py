"""The baseline for bench/serve.py: the least a chat bot can do — one model call per message, no state.

Run: python bench/reference_bot.py PORT MODEL_URL
"""

import sys

import aiohttp
from aiohttp import web


def make_app(model_url: str) -> web.Application:
    app = web.Application()

    async def start(app: web.Application) -> None:
        app["http"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512))

    async def stop(app: web.Application) -> None:
        await app["http"].close()

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        payload = {"model": "bench", "messages": [{"role": "user", "content": body["message"]}]}
        async with request.app["http"].post(f"{model_url}/chat/completions", json=payload) as resp:
            answer = await resp.json()
        text = answer["choices"][0]["message"]["content"]
        return web.json_response(
            {
                "reply": text,
                "session_id": body.get("session_id") or "-",
                "model": answer.get("model", "bench"),
                "track": "stable",
            }
        )

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_post("/api/v1/chat", chat)
    return app


if __name__ == "__main__":
    web.run_app(make_app(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
