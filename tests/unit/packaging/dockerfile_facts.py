"""What the packaging tests read out of Dockerfile.runtime and Dockerfile.operator (via dockerfile-parse)."""

import io
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILES = ("Dockerfile.runtime", "Dockerfile.operator")


def parse(name: str) -> DockerfileParser:
    return DockerfileParser(fileobj=io.BytesIO((ROOT / name).read_bytes()))


def project_version() -> str:
    version: str = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    return version


def stages(parser: DockerfileParser) -> list[list[dict[str, Any]]]:
    """Instructions grouped by build stage (what precedes the first FROM is dropped)."""
    out: list[list[dict[str, Any]]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            out.append([])
        if out and instruction["instruction"] != "COMMENT":
            out[-1].append(instruction)
    return out


def final_stage(parser: DockerfileParser) -> list[dict[str, Any]]:
    return stages(parser)[-1]


def values(stage: list[dict[str, Any]], instruction: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == instruction]


def exec_form(value: str) -> list[str]:
    """An instruction in JSON (exec) form as argv; raises if it is in shell form."""
    argv: list[str] = json.loads(value)
    return argv


def healthcheck(parser: DockerfileParser) -> list[str]:
    [value] = values(final_stage(parser), "HEALTHCHECK")
    return exec_form(value.split("CMD", 1)[1].strip())


def install_commands(parser: DockerfileParser) -> list[list[str]]:
    """The final stage's steps that create the virtualenv and install Parley, as argv lists."""
    commands = []
    for value in values(final_stage(parser), "RUN"):
        body = re.sub(r"^(--\S+\s+)+", "", value)
        for part in body.split("&&"):
            argv = shlex.split(part)
            if argv[:3] == ["python", "-m", "venv"] or argv[:1] == ["pip"]:
                commands.append(argv)
    return commands
