"""OneBot v11 over a reverse WebSocket: NapCat / Lagrange.OneBot connect to Parley and stay connected.

Rule: `cqcode` and `convert` are pure; `connection` owns one live socket (echo-matched actions, an
ordered event queue); `adapter` authenticates upgrades and routes replies to the right socket.
"""
