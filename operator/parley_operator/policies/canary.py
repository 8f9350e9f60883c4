"""Where a gray release stands. Placeholder until the canary state machine lands: a ChatBot with
`spec.canary` gets its canary Deployment at weight 0, so no user is routed to it yet.

The state machine will decide the weight and step here, from `Observed` (current status, the
`parley.dev/promote` annotation, analysis results) and the clock, as pure functions.
"""

from parley_operator.observed import Observed


def weight(observed: Observed) -> int:
    return 0
