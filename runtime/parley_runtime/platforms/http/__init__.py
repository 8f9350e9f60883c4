"""Generic HTTP platform: any system POSTs a JSON message and gets the reply POSTed to a callback URL.

Rule: `convert` and `callbacks` are pure; only `client` does I/O (through the injected httpx client);
`adapter` wires them to `core.protocols.PlatformAdapter`.
"""
