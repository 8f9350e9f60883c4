"""The init container that installs plugin packages: what it runs, what it mounts, who gets it."""

from typing import Any

import kubernetes_validate
import pytest

from parley_operator.policies import status
from parley_operator.render import plugin_packages, render_bot
from parley_runtime.config.models import PluginSpec
from parley_runtime.plugins import packages
from unit.operator.operator_factories import CANARY, by_kind_name, make_binding, make_chatbot

SHA = "sha256:" + "c" * 64
INDEX = {"secretKeyRef": {"name": "pkg-index", "key": "url"}}
WEATHER = {"name": "weather", "package": "parley-weather==1.2.0", "config": {"defaultCity": "Paris"}}
MAPS = {"name": "maps", "package": "parley-maps[geo]==0.3.1"}


def deployments(**spec: Any) -> dict[str, dict[str, Any]]:
    objects = render_bot(make_chatbot(**spec), [make_binding()], namespace="bots", canary_weight=10)
    return {name: obj for (kind, name), obj in by_kind_name(objects).items() if kind == "Deployment"}


def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def runtime_container(deployment: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = pod_spec(deployment)["containers"][0]
    return container


def test_engines_install_the_pinned_packages_and_the_gateway_does_not() -> None:
    found = deployments(plugins=[WEATHER, {"name": "clock"}, MAPS], canary=CANARY)
    for name in ("helpdesk", "helpdesk-canary"):
        (init,) = pod_spec(found[name])["initContainers"]
        assert init["name"] == plugin_packages.INIT_CONTAINER
        assert init["image"] == runtime_container(found[name])["image"]
        assert init["command"] == ["pip"]
        assert init["args"][:2] == ["install", "--no-cache-dir"]
        target = init["args"].index("--target")
        assert init["args"][target + 1] == "/opt/parley-plugins"
        assert init["args"][-2:] == ["parley-weather==1.2.0", "parley-maps[geo]==0.3.1"]
        assert "--require-hashes" not in init["args"]
    assert "initContainers" not in pod_spec(found["helpdesk-gateway"])
    gateway = runtime_container(found["helpdesk-gateway"])
    assert plugin_packages.ENV not in {e["name"] for e in gateway["env"]}


def test_disabled_plugins_are_not_installed_and_no_packages_means_no_init_container() -> None:
    off = {**MAPS, "enabled": False}
    (init,) = pod_spec(deployments(plugins=[WEATHER, off])["helpdesk"])["initContainers"]
    assert init["args"][-1] == "parley-weather==1.2.0" and "parley-maps[geo]==0.3.1" not in init["args"]
    plain = deployments(plugins=[{"name": "clock"}])["helpdesk"]
    assert "initContainers" not in pod_spec(plain)
    assert "plugin-packages" not in {v["name"] for v in pod_spec(plain)["volumes"]}


def test_read_only_roots_with_pip_writing_only_to_empty_dirs() -> None:
    engine = deployments(plugins=[WEATHER])["helpdesk"]
    spec = pod_spec(engine)
    (init,) = spec["initContainers"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["plugin-packages"] == {"name": "plugin-packages", "emptyDir": {}}
    assert init["securityContext"]["readOnlyRootFilesystem"] is True
    assert init["securityContext"] == runtime_container(engine)["securityContext"]
    # Everything pip writes (target, HOME, TMPDIR) is on an emptyDir, writable in the init container.
    writable = {m["mountPath"]: m["name"] for m in init["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/opt/parley-plugins": "plugin-packages", "/tmp": "tmp"}
    assert all("emptyDir" in volumes[name] for name in writable.values())
    env = {e["name"]: e.get("value") for e in init["env"]}
    assert env == {"HOME": "/tmp", "TMPDIR": "/tmp"}
    assert init["terminationMessagePolicy"] == "FallbackToLogsOnError"
    # The runtime reads the packages, read-only, from where PARLEY_PLUGIN_PACKAGES_DIR says.
    runtime = runtime_container(engine)
    mount = next(m for m in runtime["volumeMounts"] if m["name"] == "plugin-packages")
    assert mount == {"name": "plugin-packages", "mountPath": "/opt/parley-plugins", "readOnly": True}
    assert {"name": "PARLEY_PLUGIN_PACKAGES_DIR", "value": "/opt/parley-plugins"} in runtime["env"]


def test_the_index_url_comes_from_its_secret_never_inline() -> None:
    (init,) = pod_spec(deployments(plugins=[{**WEATHER, "index": INDEX}])["helpdesk"])["initContainers"]
    assert {"name": "PIP_INDEX_URL", "valueFrom": {"secretKeyRef": {"name": "pkg-index", "key": "url"}}} in (
        init["env"]
    )
    assert not any(a.startswith(("--index-url", "-i", "http")) for a in init["args"])


def test_hashes_travel_as_a_requirements_file_in_the_config_map() -> None:
    hashed = [{**WEATHER, "hashes": [SHA]}, {**MAPS, "hashes": [SHA, "sha256:" + "d" * 64]}]
    bot = make_chatbot(plugins=hashed)
    objects = by_kind_name(render_bot(bot, [], namespace="bots"))
    data = objects["ConfigMap", "helpdesk-config"]["data"]
    assert data[plugin_packages.REQUIREMENTS_KEY] == (
        f"parley-weather==1.2.0 --hash={SHA}\nparley-maps[geo]==0.3.1 --hash={SHA} --hash=sha256:{'d' * 64}\n"
    )
    (init,) = pod_spec(objects["Deployment", "helpdesk"])["initContainers"]
    assert init["args"][-4:] == [
        "--require-hashes",
        "--no-deps",
        "-r",
        "/etc/parley/config/plugin-requirements.txt",
    ]
    assert {"name": "config", "mountPath": "/etc/parley/config", "readOnly": True} in init["volumeMounts"]
    # Without hashes there is no requirements file to change the config checksum.
    plain = by_kind_name(render_bot(make_chatbot(plugins=[WEATHER]), [], namespace="bots"))
    assert plugin_packages.REQUIREMENTS_KEY not in plain["ConfigMap", "helpdesk-config"]["data"]


def test_cluster_and_serve_pass_pip_the_same_options() -> None:
    for plugins in ([WEATHER], [{**WEATHER, "hashes": [SHA]}]):
        specs = [PluginSpec.model_validate(p) for p in plugins]
        pins = packages.pinned(specs)
        assert pins is not None
        args = pod_spec(deployments(plugins=plugins)["helpdesk"])["initContainers"][0]["args"]
        assert [
            a for a in args if a.startswith("--") and a not in ("--no-cache-dir", "--upgrade", "--target")
        ] == (packages.pip_options(pins))


def test_the_status_policy_looks_for_the_rendered_init_container() -> None:
    assert status.PLUGIN_INIT_CONTAINER == plugin_packages.INIT_CONTAINER


@pytest.mark.parametrize("version", ["1.30", "1.34"])
@pytest.mark.parametrize("hashes", [False, True])
def test_rendered_objects_are_valid_kubernetes(version: str, hashes: bool) -> None:
    plugins = [{**WEATHER, "index": INDEX, **({"hashes": [SHA]} if hashes else {})}]
    objects = render_bot(make_chatbot(plugins=plugins, canary=CANARY), [make_binding()], namespace="bots")
    for obj in objects:
        assert kubernetes_validate.validate(obj, version, strict=True) == version


def test_the_operator_reads_engine_pods_only_for_bots_that_install_packages() -> None:
    with_packages = render_bot(make_chatbot(plugins=[WEATHER]), [], namespace="bots")
    without = render_bot(make_chatbot(plugins=[{"name": "clock"}], canary=CANARY), [], namespace="bots")
    assert plugin_packages.installs(with_packages) and not plugin_packages.installs(without)
