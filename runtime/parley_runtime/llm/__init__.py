"""The LLM router: providers behind one ChatModel, with fallback, circuits and usage (the routes are
described in docs/configuration.md, "Model routes").

Rule: each provider module (`openai_compat`, `anthropic`, `gemini`, `echo`) imports only
`provider_base`, `transport`, `media`, `errors`, config and core — never another provider (what they
share lives in `provider_base`); only `providers`
(the name → class map) knows them all, and only `router` uses that map. `selection`, `circuit`,
`accounting` and the providers' wire conversion are pure. All network I/O goes through the shared
`httpx.AsyncClient` passed in. Nothing happens at import.
"""
