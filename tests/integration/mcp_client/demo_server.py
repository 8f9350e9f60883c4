"""A small MCP server written with the SDK's own `MCPServer`, the kind a user would point a bot at.

Run as a script it speaks stdio (`command: sys.executable, args: [this file]`); `build()` gives the
same tools for streamable HTTP. `crash` ends the process in the middle of a call, as a server that dies
mid-session would.
"""

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

PNG = bytes.fromhex("89504e470d0a1a0a") + b"tiny picture"


def build(name: str = "demo") -> "MCPServer":
    # Imported here: the SDK takes ~0.5 s, which every xdist worker would pay while collecting.
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.server.mcpserver.utilities.types import Image

    server = MCPServer(name, log_level="WARNING")

    @server.tool()
    def lookup_weather(city: str) -> str:
        """Today's weather in a city."""
        return f"Sunny in {city}, 21 degrees"

    @server.tool()
    def current_time() -> str:
        """The time on the server's clock (same name as the clock plugin's tool)."""
        return "12:00 server time"

    @server.tool()
    def picture() -> Image:
        """A picture of the weather."""
        return Image(data=PNG, format="png")

    @server.tool()
    def refuse(reason: str) -> str:
        """Always fails, with the reason given."""
        raise ToolError(reason)

    @server.tool()
    def env_value(name: str) -> str:
        """An environment variable of the server process."""
        return os.environ.get(name, "<unset>")

    @server.tool()
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    @server.tool()
    def crash() -> str:
        """Ends the server process before answering."""
        os._exit(3)

    return server


if __name__ == "__main__":
    build().run()
