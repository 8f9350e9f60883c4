"""manifests/install.yaml is the chart's default install for kubectl: up to date with the chart, valid
for Kubernetes 1.30 and 1.34, and the same objects Helm would create, plus the Namespace and CRDs."""

import shutil
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from integration.packaging.chart_facts import KUBE_VERSIONS, ROOT, objects
from parley_operator import installgen

INSTALL = ROOT / "manifests" / "install.yaml"


def _install_docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(INSTALL.read_text(encoding="utf-8")) if d]


def test_install_yaml_and_chart_crds_are_up_to_date() -> None:
    assert installgen.stale(ROOT) == [], "run: python -m parley_operator.installgen"


def test_check_flag_reports_a_stale_install(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(ROOT / "charts", tmp_path / "charts")
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "install.yaml").write_text(
        INSTALL.read_text(encoding="utf-8").replace("replicas: 1", "replicas: 3"), encoding="utf-8"
    )
    assert installgen.main(["--root", str(tmp_path), "--check"]) == 1
    assert "manifests/install.yaml is out of date" in capsys.readouterr().err
    assert installgen.main(["--root", str(tmp_path)]) == 0
    assert installgen.main(["--root", str(tmp_path), "--check"]) == 0
    assert (tmp_path / "manifests" / "install.yaml").read_text(encoding="utf-8") == INSTALL.read_text(
        encoding="utf-8"
    )


def test_a_root_without_the_chart_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert installgen.main(["--root", str(tmp_path), "--check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no chart at" in err


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_every_object_is_valid(version: str) -> None:
    for doc in _install_docs():
        assert kubernetes_validate.validate(doc, version, strict=True) == version, doc["kind"]


def test_same_objects_as_helm_install_with_defaults() -> None:
    docs = _install_docs()
    assert [d["kind"] for d in docs[:3]] == [
        "Namespace",
        "CustomResourceDefinition",
        "CustomResourceDefinition",
    ]
    assert docs[0]["metadata"]["name"] == "parley-system"
    crd_names = {d["metadata"]["name"] for d in docs[1:3]}
    assert crd_names == {"chatbots.parley.dev", "platformbindings.parley.dev"}
    by_key = {(d["kind"], d["metadata"]["name"]): d for d in docs[3:]}
    helm = {(o["kind"], o["metadata"]["name"]): o for o in objects()}
    assert by_key.keys() == helm.keys()
    for key, obj in helm.items():
        assert by_key[key] == installgen.for_kubectl(obj), key
    for doc in docs:
        assert doc["metadata"].get("labels", {}).get("app.kubernetes.io/managed-by") != "Helm"
        assert "helm.sh/chart" not in doc["metadata"].get("labels", {})
