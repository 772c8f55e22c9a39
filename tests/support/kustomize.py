"""A tiny kustomize renderer for deploy/k8s, because no `kustomize`/`kubectl` binary is installable here.

It implements exactly the kustomization fields deploy/k8s uses, as kustomize v5 does:
`resources` (files, or directories holding a kustomization.yaml, recursively), `namespace` (set on
every namespaced object), `images` (`newName`/`newTag`/`digest` on the containers of pod templates),
`replicas` (`count` of a Deployment by name) and `labels` with `pairs` only (added to
`metadata.labels`, never to selectors or templates: `includeSelectors`/`includeTemplates` unset).
Any other field raises, so the overlays cannot silently use something this renderer ignores.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "replicas", "labels"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume"}

Manifest = dict[str, Any]


def render(directory: Path) -> list[Manifest]:
    """The objects `kubectl kustomize <directory>` prints, for the fields listed above."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise ValueError(f"{directory}: kustomization fields this renderer does not implement: {sorted(unknown)}")
    objects: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        if path.is_dir():
            objects += render(path)
        else:
            objects += [copy.deepcopy(doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    for obj in objects:
        _apply(kustomization, obj)
    return objects


def _apply(kustomization: dict[str, Any], obj: Manifest) -> None:
    metadata = obj.setdefault("metadata", {})
    if "namespace" in kustomization and obj["kind"] not in CLUSTER_SCOPED:
        metadata["namespace"] = kustomization["namespace"]
    for label_set in kustomization.get("labels", []):
        if set(label_set) - {"pairs"}:
            raise ValueError(f"labels options not implemented: {sorted(set(label_set) - {'pairs'})}")
        metadata.setdefault("labels", {}).update(label_set["pairs"])
    for replica in kustomization.get("replicas", []):
        if obj["kind"] == "Deployment" and metadata["name"] == replica["name"]:
            obj["spec"]["replicas"] = replica["count"]
    for container in containers(obj):
        for image in kustomization.get("images", []):
            container["image"] = _retag(container["image"], image)


def _retag(reference: str, image: dict[str, str]) -> str:
    """kustomize's `images` transformer: match on the name without tag or digest."""
    name = reference.split("@", 1)[0]
    tag = ""
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    if name != image["name"]:
        return reference
    new_name = image.get("newName", name)
    if "digest" in image:
        return f"{new_name}@{image['digest']}"
    new_tag = image.get("newTag", tag)
    return f"{new_name}:{new_tag}" if new_tag else new_name


def pod_spec(obj: Manifest) -> dict[str, Any] | None:
    """The pod spec of a workload (Deployment, Job, ...), or None."""
    template = obj.get("spec", {}).get("template")
    return template.get("spec") if isinstance(template, dict) else None


def containers(obj: Manifest) -> list[dict[str, Any]]:
    spec = pod_spec(obj) or {}
    return [*spec.get("initContainers", []), *spec.get("containers", [])]
