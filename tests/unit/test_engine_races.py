"""The engine door under a teardown running beside it: a container listed, then gone before it is
inspected, is skipped (the SDK's own list raises NotFound there), and SDK errors leave the door
as DrillError, never as docker's types."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import docker
import pytest

from doors.engine import DockerEngine
from drills.errors import DrillError


class Containers:
    def __init__(self, present: dict[str, Any], listed: list[str]) -> None:
        self.present, self.listed = present, listed

    def list(self, **kwargs: Any) -> list[Any]:
        assert kwargs.get("sparse") is True, "inspected one by one, not by the SDK's list"
        return [SimpleNamespace(id=i) for i in self.listed]

    def get(self, container_id: str) -> Any:
        if container_id not in self.present:
            raise docker.errors.NotFound(f"No such container: {container_id}")
        return self.present[container_id]


def test_a_container_gone_between_list_and_inspect_is_skipped() -> None:
    kept = SimpleNamespace(id="a", name="drill-x_lb_1")
    client = SimpleNamespace(containers=Containers({"a": kept}, ["a", "b"]))
    engine = DockerEngine(client)  # type: ignore[arg-type]
    assert engine._listed({"label": ["drill.run=x"]}) == [kept]


def test_an_sdk_error_while_reaping_is_a_drill_error() -> None:
    def broken(**kwargs: Any) -> list[Any]:
        raise docker.errors.APIError("500 Server Error: daemon is restarting")

    client = SimpleNamespace(containers=SimpleNamespace(list=broken), services=SimpleNamespace(list=lambda **k: []))
    with pytest.raises(DrillError, match="removing run x: 500 Server Error"):
        DockerEngine(client).reap("x")  # type: ignore[arg-type]
