import io
import json
import logging
import time

import pytest

from parley_runtime.observability import logs
from parley_runtime.observability.logs import BatchingStreamHandler, RedactingJsonFormatter
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


def batching(interval: float) -> tuple[io.StringIO, BatchingStreamHandler, logging.Logger]:
    stream = io.StringIO()
    handler = BatchingStreamHandler(stream, interval=interval)
    handler.setFormatter(RedactingJsonFormatter())
    logger = logging.getLogger(f"parley.test.batching.{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.handlers[:] = [handler]
    return stream, handler, logger


def messages(stream: io.StringIO) -> list[str]:
    return [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]


def test_info_lines_are_held_until_a_warning_which_writes_them_all_in_order() -> None:
    stream, handler, logger = batching(interval=3600)
    try:
        logger.info("one")
        logger.info("two")
        assert stream.getvalue() == ""
        logger.warning("three")
        assert messages(stream) == ["one", "two", "three"]
    finally:
        handler.close()


def test_held_lines_are_written_by_the_writer_thread_within_the_interval() -> None:
    stream, handler, logger = batching(interval=0.05)
    try:
        logger.info("reply")
        deadline = time.monotonic() + 5
        while not stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert messages(stream) == ["reply"]
    finally:
        handler.close()


def test_closing_writes_what_is_held_and_stops_the_writer() -> None:
    stream, handler, logger = batching(interval=3600)
    logger.info("last words")
    handler.close()
    assert messages(stream) == ["last words"]
    handler._writer.join(5)
    assert not handler._writer.is_alive()


def test_a_record_that_cannot_be_formatted_is_reported_and_the_rest_go_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(logging, "raiseExceptions", True)
    stream, handler, logger = batching(interval=3600)
    try:
        logger.info("%d apples", "not a number")
        logger.warning("still here")
        assert messages(stream) == ["still here"]
        assert "--- Logging error ---" in capsys.readouterr().err
    finally:
        handler.close()


def test_configuring_again_closes_the_handler_it_replaces() -> None:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        logs.configure("INFO")
        first = root.handlers[0]
        assert isinstance(first, BatchingStreamHandler)
        logs.configure("INFO")
        first._writer.join(5)
        assert not first._writer.is_alive() and root.handlers[0] is not first
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:], root.level = saved, level
