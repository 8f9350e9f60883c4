"""The plugins that ship with Parley, as a literal map from name to `module:attribute`.

Rule: nothing registers itself; a built-in exists because it is listed here, and its module is only
imported when a bot enables it. `ALWAYS_ON` plugins are enabled unless the manifest lists them with
`enabled: false`.
"""

BUILTINS: dict[str, str] = {
    "help": "parley_runtime.plugins.builtin.help:plugin",
    "reset": "parley_runtime.plugins.builtin.reset:plugin",
    "clock": "parley_runtime.plugins.builtin.clock:plugin",
    "http-fetch": "parley_runtime.plugins.builtin.http_fetch:plugin",
}

ALWAYS_ON: tuple[str, ...] = ("help", "reset")
