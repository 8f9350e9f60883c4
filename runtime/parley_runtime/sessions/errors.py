"""Errors the session stores raise.

SessionError                -- base
└── SessionConflictError    -- concurrent writers kept changing one session; this append was not applied
"""


class SessionError(Exception):
    pass


class SessionConflictError(SessionError):
    pass
