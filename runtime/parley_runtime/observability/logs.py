"""JSON logs, one object per line, with secrets masked before anything is written."""

import logging
import sys
import threading
from collections.abc import Iterable
from typing import IO, Any

import orjson

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}

# A line waits at most this long to be written; a warning or worse is written at once, after every line
# before it.
FLUSH_SECONDS = 0.1
_BATCH_LINES = 1024


class RedactingJsonFormatter(logging.Formatter):
    """Formats records as JSON and replaces every known secret value with `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return self.redact(orjson.dumps(payload, default=str).decode())

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


class BatchingStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes the lines of many records at once: every reply logs one, and a write to stderr per line
    cost more CPU than the rest of the line (docs/benchmarks.md).

    A line is held at most `interval` seconds (a thread writes what is held), a WARNING or worse is
    written at once with every line before it, and `logging.shutdown` writes the rest at exit. A killed
    process loses at most `interval` of INFO lines.
    """

    def __init__(self, stream: IO[str] | None = None, *, interval: float = FLUSH_SECONDS) -> None:
        super().__init__(stream)
        self._held: list[str] = []
        self._stop = threading.Event()
        self._writer = threading.Thread(
            target=self._write_every, args=(interval,), name="parley-log-writer", daemon=True
        )
        self._writer.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._held.append(line)  # `Handler.handle` holds this handler's lock around `emit`
        if record.levelno >= logging.WARNING or len(self._held) >= _BATCH_LINES:
            self._write_held()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write_held()

    def close(self) -> None:
        self.flush()
        self._stop.set()
        super().close()

    def _write_held(self) -> None:
        if not self._held:
            return
        text = "\n".join(self._held) + "\n"
        self._held.clear()
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # stderr closed or broken: nowhere is left to say so
            pass

    def _write_every(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.flush()


def configure(level: str = "INFO", *, fmt: str = "json", secrets: Iterable[str] = ()) -> None:
    """Install the handler on the root logger (called once by the CLI, never at import)."""
    handler = BatchingStreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(RedactingJsonFormatter(secrets))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # A reply logs one line: skip what no line of ours shows (the caller's file and line, thread and
    # process names), which the logging module would otherwise look up for every record.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    for replaced in root.handlers:
        if isinstance(replaced, BatchingStreamHandler):
            replaced.close()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
