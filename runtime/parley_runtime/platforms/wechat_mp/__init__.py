"""WeChat Official Account (公众号): XML callbacks (plain or safe mode) in, customer-service API out.

Rule: `convert` is pure (XML fields → InboundMessage); all HTTP lives in `client`; `adapter` verifies,
converts and acks with `success` without any network call.
"""
