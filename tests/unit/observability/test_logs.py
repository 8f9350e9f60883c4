import json
import logging

from parley_runtime.observability.logs import RedactingJsonFormatter
from parley_runtime.observability.metrics import Metrics


def record(msg: str, **extra: object) -> logging.LogRecord:
    rec = logging.makeLogRecord(
        {"name": "parley.test", "levelno": logging.INFO, "levelname": "INFO", "msg": msg, "args": ()}
    )
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def test_one_json_object_with_extras() -> None:
    line = RedactingJsonFormatter().format(record("reply", event_id="ev-1", color_message="\x1b[36mx"))
    data = json.loads(line)
    assert data["msg"] == "reply" and data["event_id"] == "ev-1" and data["level"] == "INFO"
    assert "color_message" not in data


def test_secrets_are_masked_everywhere_in_the_line() -> None:
    formatter = RedactingJsonFormatter(["sk-live-abcdef", "xy"])  # too-short values are not masked
    line = formatter.format(record("calling with sk-live-abcdef", url="https://h/bot?key=sk-live-abcdef"))
    assert "sk-live-abcdef" not in line and line.count("***") == 2
    assert json.loads(line)["msg"] == "calling with ***"


def test_exceptions_are_formatted_and_masked() -> None:
    formatter = RedactingJsonFormatter(["tok-123456"])
    try:
        raise ValueError("bad token tok-123456")
    except ValueError:
        import sys

        rec = record("failed")
        rec.exc_info = sys.exc_info()
    data = json.loads(formatter.format(rec))
    assert "ValueError" in data["exc"] and "tok-123456" not in data["exc"]


def test_metrics_instances_are_independent() -> None:
    a, b = Metrics(), Metrics()
    a.messages.labels("api", "stable", "ok").inc()
    assert b'parley_messages_total{outcome="ok",platform="api",track="stable"} 1.0' in a.render()
    assert b'parley_messages_total{outcome="ok"' not in b.render()
