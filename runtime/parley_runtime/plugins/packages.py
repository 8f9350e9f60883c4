"""Plugins from the package index: the pinned `spec.plugins[].package`s, installed once per set.

Two ways the packages arrive, one way they are found:

- `parley serve` (and an engine outside a cluster) runs `python -m pip install --target` into
  `.parley-plugins/<key>/` beside the manifest, `<key>` a hash of the pinned set (requirement lines,
  which index, Python and platform). A second start with the same set runs no pip at all; a changed
  set gets a folder of its own. pip fills a temporary folder that is renamed into place only when
  it succeeded, so a crash half-way never leaves a cache that looks complete.
- In a cluster the operator's init container installs them into `PARLEY_PLUGIN_PACKAGES_DIR`; the
  runtime only checks that they are there.

Either way the folder is appended to `sys.path`: its distributions declare `parley.plugins` entry
points, which `discovery` lists like any installed package's, and the runtime's own packages stay
first, so a dependency pip copied into the folder never replaces one the runtime already imported.
A distribution of the same name installed in the environment would win too, so that is refused
rather than silently running another version than the pinned one.
"""

import hashlib
import importlib
import importlib.metadata
import json
import logging
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from parley_runtime.config.errors import ConfigError
from parley_runtime.config.models import PluginSpec, SecretValue
from parley_runtime.plugins.discovery import GROUP

CACHE_DIR = ".parley-plugins"
PIP_TIMEOUT = 900.0  # seconds for the whole install; pip has its own per-request timeouts within it
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")

log = logging.getLogger("parley.plugins")


@dataclass(frozen=True)
class PinnedSet:
    """The enabled plugins' packages as pip requirement lines, and which Secret holds the index URL."""

    requirements: tuple[str, ...]
    index: tuple[str, str] | None  # (Secret name, key): the key of the cache, never the URL itself

    @property
    def hashed(self) -> bool:
        return any("--hash=" in line for line in self.requirements)

    @property
    def key(self) -> str:
        """Names the cache folder: the same set on the same Python reuses it, any change misses it."""
        blob = json.dumps(
            {
                "requirements": sorted(self.requirements),
                "index": self.index,
                "python": sys.implementation.cache_tag,
                "platform": sysconfig.get_platform(),
            }
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def wanted(specs: Sequence[PluginSpec]) -> list[PluginSpec]:
    """The enabled plugins that come from a package (a disabled one is neither installed nor loaded)."""
    return [s for s in specs if s.enabled and s.package is not None]


def pinned(specs: Sequence[PluginSpec]) -> PinnedSet | None:
    packaged = wanted(specs)
    if not packaged:
        return None
    ref = index_ref(specs)
    index = (ref.secret_key_ref.name, ref.secret_key_ref.key) if ref is not None else None
    return PinnedSet(tuple(s.requirement or "" for s in packaged), index)


def index_ref(specs: Sequence[PluginSpec]) -> SecretValue | None:
    """The Secret with the index URL (the manifest allows one for all packages), or None for PyPI."""
    return next((s.index for s in wanted(specs) if s.index is not None), None)


def pip_options(pins: PinnedSet) -> list[str]:
    """What every install passes pip besides the target and the requirements, here and in the
    cluster. Hash-checking mode needs every requirement hashed, dependencies included, which the
    manifest cannot list: with hashes only the pinned files are installed (`--no-deps`), so their
    dependencies must be ones the runtime already ships."""
    options = ["--disable-pip-version-check", "--no-input", "--no-warn-script-location"]
    return [*options, "--require-hashes", "--no-deps"] if pins.hashed else options


def cache_folder(pins: PinnedSet, manifest: str | Path) -> Path:
    return Path(manifest).absolute().parent / CACHE_DIR / pins.key


def split(package: str) -> tuple[str, str]:
    """`Parley_Weather[x]==1.2.0` → (`parley-weather`, `1.2.0`): the normalized name and the version."""
    name, _, version = package.partition("==")
    return normalize(name.partition("[")[0]), version


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def prepare(
    specs: Sequence[PluginSpec],
    *,
    source: str,
    subject: str,
    packages_dir: Path | None,
    index_url: str | None,
) -> Path | None:
    """Make the pinned packages importable before the plugins load; the folder they are in, or None
    when no plugin comes from a package. ConfigError (one line per problem) when that fails."""
    pins = pinned(specs)
    if pins is None:
        return None
    where = f"{source}: {subject}: spec.plugins"
    if packages_dir is None:
        folder = install(pins, cache_folder(pins, source), index_url=index_url, where=where)
    else:
        folder = packages_dir
    activate(folder)
    problems = check(specs, folder)
    if problems:
        raise ConfigError([f"{where}: {p}" for p in problems])
    return folder


def install(pins: PinnedSet, folder: Path, *, index_url: str | None, where: str) -> Path:
    """pip into `folder` unless an earlier start did; ConfigError with pip's own reason when it fails."""
    if folder.is_dir():
        log.info("plugin packages found in the cache", extra={"folder": str(folder)})
        return folder
    listed = ", ".join(line.split(" ")[0] for line in pins.requirements)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = tempfile.TemporaryDirectory(prefix=f".{folder.name}-", dir=folder.parent)
    except OSError as exc:
        raise ConfigError(
            [f"{where}: cannot create the plugin cache {folder.parent}: {exc.strerror}"]
        ) from None
    log.info("installing plugin packages", extra={"packages": listed, "folder": str(folder)})
    with work as scratch:
        requirements = Path(scratch) / "requirements.txt"
        requirements.write_text("\n".join(pins.requirements) + "\n", encoding="utf-8")
        site = Path(scratch) / "site"
        command = [sys.executable, "-m", "pip", "install", *pip_options(pins)]
        command += ["--target", str(site), "-r", str(requirements)]
        env = dict(os.environ)
        if index_url is not None:
            env["PIP_INDEX_URL"] = index_url  # not an argument: the command line is visible to `ps`
        try:
            done = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
                command, capture_output=True, text=True, env=env, timeout=PIP_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            raise ConfigError([f"{where}: pip did not install {listed} within {PIP_TIMEOUT:.0f}s"]) from None
        if done.returncode != 0:
            reason = pip_reason(done.stderr or done.stdout, secret=index_url)
            raise ConfigError([f"{where}: pip could not install {listed}: {reason}"])
        try:
            site.rename(folder)
        except OSError as exc:
            if not folder.is_dir():  # else another process installed the same set meanwhile
                raise ConfigError(
                    [f"{where}: cannot fill the plugin cache {folder}: {exc.strerror}"]
                ) from None
    log.info("plugin packages installed", extra={"packages": listed, "folder": str(folder)})
    return folder


def pip_reason(output: str, *, secret: str | None = None) -> str:
    """pip's last `ERROR:` line (or its last line), without URLs: an index URL may carry a token."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR:").strip() for line in lines if line.startswith("ERROR:")]
    reason = (errors or lines or ["no output"])[-1]
    if secret:
        reason = reason.replace(secret, "<index>")
    reason = _URL.sub("<url>", reason)
    return reason if len(reason) <= 300 else reason[:297] + "..."


def activate(folder: Path) -> None:
    """Put `folder` last on `sys.path`, once, so its distributions and modules can be found."""
    entry = str(folder)
    if entry not in sys.path:
        sys.path.append(entry)
        importlib.invalidate_caches()


def check(specs: Sequence[PluginSpec], folder: Path) -> list[str]:
    """Each pinned package is in `folder` at its version, is the copy Python finds, and provides
    the plugin named next to it."""
    present = {
        normalize(d.metadata["Name"] or ""): d for d in importlib.metadata.distributions(path=[str(folder)])
    }
    problems: list[str] = []
    for spec in wanted(specs):
        package = spec.package or ""
        name, version = split(package)
        dist = present.get(name)
        if dist is None or dist.version != version:
            found = f" (found {dist.version})" if dist is not None else ""
            problems.append(f"{package} is not installed in {folder}{found}")
            continue
        first = importlib.metadata.distribution(name)
        if Path(str(first.locate_file(""))).resolve() != folder.resolve():
            problems.append(
                f"{name} {first.version} installed in the Python environment shadows the pinned {package}; "
                "uninstall it there"
            )
            continue
        offered = sorted(ep.name for ep in dist.entry_points if ep.group == GROUP)
        if spec.name not in offered:
            choices = ", ".join(offered) or "none"
            problems.append(f"{package} provides no plugin {spec.name!r} (its plugins: {choices})")
    return problems
