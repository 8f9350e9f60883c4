"""Errors the limit and de-duplication stores raise.

LimitStoreError   -- base: the backing store cannot be opened or used (message names the path, no data)
"""


class LimitStoreError(Exception):
    pass
