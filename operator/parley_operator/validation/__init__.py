"""`parley validate`: what `kubectl apply` would reject, caught before it runs.

Rule: pure checks over parsed documents (the CRD schema, its CEL rules, the pydantic models, and
rules across objects), each returning `Problem`s; only `files` reads from disk. Messages never echo
field values: a misplaced API key must not end up in CI logs.
"""
