"""DingTalk enterprise robot: HTTP callbacks or a Stream-mode WebSocket in; sessionWebhook/OpenAPI out.

Rule: `crypto` and `convert` are pure; HTTP calls live in `client`; the Stream connection (`stream`)
is the only module holding a socket; `adapter` never calls the network while acking.
"""
