"""Plugins (docs/plugins.md): commands, message matchers, lifecycle hooks and LLM tools written by users.

Rule: a plugin reaches the outside world only through what its context hands it (`services.http`,
`services.clock`, its validated config, its logger); the host is the error boundary, so nothing a
plugin raises ever reaches the pipeline. Discovery happens when a host is loaded, never at import:
built-ins through the literal map in `builtin`, others through the `parley.plugins` entry-point
group or a plugins folder; packages the manifest pins are installed first (`packages`) and then found
as entry points like any other. Authors import `parley_runtime.plugins.api` and nothing else.
"""
