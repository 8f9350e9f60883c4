"""Send errors, as adapters raise them; defined in `core.send_errors` so the queue layer can catch them."""

from parley_runtime.core.send_errors import PermanentSendError, RetryableSendError, SendError

__all__ = ["PermanentSendError", "RetryableSendError", "SendError"]
