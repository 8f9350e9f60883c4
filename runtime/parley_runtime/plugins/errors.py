"""Plugin errors. Problems with a bot's plugin list surface as `config.errors.ConfigError` (one line
per problem); these are the causes the loader turns into those lines.

PluginDefinitionError (api)  -- a decorator was misused; raised while the plugin module is imported
ToolError (api)              -- raised by a tool on purpose; its message goes to the model
PluginLoadError              -- a plugin could not be imported or is not a `Plugin`
"""


class PluginLoadError(Exception):
    """One readable line: why the plugin named in the manifest could not be loaded."""
