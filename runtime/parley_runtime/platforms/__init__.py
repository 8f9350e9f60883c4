"""Platform adapters: one package per chat platform behind `core.protocols.PlatformAdapter`.

Rule: adapters never import each other; shared helpers live in `platforms.common`. Each adapter
package exposes `create(ctx: AdapterContext) -> PlatformAdapter`; `registry` maps names to them.
"""
