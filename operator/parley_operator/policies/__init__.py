"""Decisions of a reconcile: pure functions from `Observed` (and rendered objects) to actions.

Rule: no I/O, no kopf, no Kubernetes client, no clock (the time is passed in as a string) and no
randomness. Each module answers one question: does the input parse (`parse`), do its references
resolve (`references`), what must be created/patched/deleted (`children`), what the status says
(`status`), where the gray release stands and goes next (`canary`, its status record in
`canary_record`), what one analysis window says (`analysis`), and which revisions the stable track
ran (`revisions`). `timestamps` holds the one format of the times they write.
`parley_operator.decide` composes them (with `render`) into one round.
"""
