"""Feishu / Lark: JSON event callbacks (optionally encrypted and signed) in, IM v1 messages out.

Rule: `crypto` and `convert` are pure; all HTTP lives in `client`; `adapter` verifies, answers the
url_verification handshake and acks without any network call, except the bounded, remembered identity
lookups of `identity` that a group message's `mentioned` depends on.
"""
