"""The parts of a reply, as every adapter sends them (pure): its text chunks, then one part per
attachment. The sent ledger marks parts by index (`AdapterContext.unsent`), so a redelivered reply
resumes after the last part that went out; a reply with no part at all is refused."""

from parley_runtime.core.messages import OutboundMessage
from parley_runtime.platforms.errors import PermanentSendError

__all__ = ["parts"]


def parts(platform: str, chunks: list[str], message: OutboundMessage) -> list[str]:
    """`chunks`, then `attachment:<i>` for each attachment of `message`; PermanentSendError when
    there is neither text nor an attachment to send."""
    found = chunks + [f"attachment:{i}" for i in range(len(message.attachments))]
    if not found:
        raise PermanentSendError(platform, "refusing to send an empty reply")
    return found
