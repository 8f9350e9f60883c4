"""WeCom (企业微信) self-built app: encrypted XML callbacks in, `message/send` out.

Rule: `convert` is pure (decrypted XML fields → InboundMessage); all HTTP lives in `client`;
`adapter` wires verification, conversion and sending and never calls the network while acking.
"""
