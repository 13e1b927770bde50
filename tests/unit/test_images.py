from pathlib import Path

import pytest

from drills.errors import UsageError
from stack.build import build_images, context_digest


def test_digest_follows_the_build_context(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM base\n")
    first = context_digest(tmp_path)
    assert context_digest(tmp_path) == first
    (tmp_path / "server.py").write_text("print('hi')\n")
    second = context_digest(tmp_path)
    (tmp_path / "server.py").write_text("print('bye')\n")
    assert len({first, second, context_digest(tmp_path)}) == 3


def test_unknown_base_mode_is_refused_before_touching_docker() -> None:
    with pytest.raises(UsageError, match="--base must be one of auto, official, local"):
        build_images(engine=None, mode="fast", progress=print)  # type: ignore[arg-type]
