"""A real wheel of a tiny plugin package and a PEP 503 simple index serving it on 127.0.0.1.

The wheel is written the way the wheel spec lays one out (module, `*.dist-info` with METADATA, WHEEL,
entry_points.txt and a RECORD of sha256 digests), so pip installs it like any wheel from PyPI —
without a build backend, which this machine may not have offline.

    with PackageIndex(tmp_path) as index:
        wheel = index.add_wheel("parley-weather-test", "1.0.0", {"weather": MODULE})
        index.url            # http://127.0.0.1:<port>/simple/
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import re
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["PackageIndex", "build_wheel", "sha256_of"]


def _record_digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_wheel(out_dir: Path, name: str, version: str, module: str, source: str, plugins: list[str]) -> Path:
    """`<name>-<version>-py3-none-any.whl` holding `<module>/__init__.py` and `parley.plugins` entry
    points `<plugin> = <module>:plugin` for each of `plugins`."""
    dist = re.sub(r"[-_.]+", "_", name)
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": source.encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: parley-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        f"{info}/entry_points.txt": (
            "[parley.plugins]\n" + "".join(f"{p} = {module}:plugin\n" for p in plugins)
        ).encode(),
    }
    record = "".join(f"{path},{_record_digest(data)},{len(data)}\n" for path, data in files.items())
    record += f"{info}/RECORD,,\n"
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            zf.writestr(path, data)
        zf.writestr(f"{info}/RECORD", record)
    return wheel


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


class PackageIndex:
    """`<root>/simple/<project>/index.html` linking to `<root>/files/*.whl`, over HTTP on 127.0.0.1."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "simple").mkdir(parents=True, exist_ok=True)
        (root / "files").mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_Quiet, directory=str(root))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="index")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/simple/"

    def add_wheel(self, name: str, version: str, module: str, source: str, plugins: list[str]) -> Path:
        wheel = build_wheel(self.root / "files", name, version, module, source, plugins)
        project = self.root / "simple" / re.sub(r"[-_.]+", "-", name).lower()
        project.mkdir(exist_ok=True)
        links = "".join(
            f'<a href="../../files/{html.escape(w.name)}#sha256={sha256_of(w)}">{html.escape(w.name)}</a>\n'
            for w in sorted((self.root / "files").glob(f"{re.sub(r'[-_.]+', '_', name)}-*.whl"))
        )
        (project / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
        return wheel

    def __enter__(self) -> PackageIndex:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
