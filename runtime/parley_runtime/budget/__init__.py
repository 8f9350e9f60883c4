"""Daily budgets: a model call reserves its upper bound before it runs and settles to its real cost after.

`pricing` is the arithmetic (pure: a request's worst case, an answer's real cost, UTC days); `guard` wraps
the router for one message so every round of the tool loop reserves and settles; `sqlite` (the file of
`parley serve`) and `redis` (every replica of the cluster) are the `core.protocols.BudgetStore`s.

Rule: a layer of its own between `engine` and the services: it may import `llm` (its cost arithmetic and
the speech tags), `storage`, `observability`, `config` and `core`, and redis for its store; never fastapi,
and it makes no HTTP call of its own. Nothing is opened at import. Without `spec.budget` none of this is
built and the pipeline calls the router directly.
"""
