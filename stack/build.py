"""`drill images build`: the stack's images, from official bases or from a base drill makes.

Where a registry answers, lb/app/db build FROM haproxy, python and redis official images.
Where none does (as on a fresh CI machine), drill debootstraps a minimal Debian with what
the stack needs, `docker import`s it as drill/base, and builds all three FROM it. Images
carry a digest of their build context, so a second build reuses what exists.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from doors.runtime import ImageBuilder
from drills.errors import DrillError, UsageError
from stack.resources import images_dir
from stack.spec import IMAGES

OFFICIAL_BASES = {
    "lb": "haproxy:2.8",
    "app": "python:3.12-slim",
    "db": "redis:7",
    "prometheus": "prom/prometheus:v2.53.0",
    "app-alt": "python:3.12-slim",
    "lb-nginx": "nginx:1.27",
}
LOCAL_BASE = "drill/base:bookworm"
DIGEST_LABEL = "drill.context-digest"
BASE_LABEL = "drill.base"
MODES = ("auto", "official", "local")

Progress = Callable[[str], None]
DEBOOTSTRAP_STAGES = (
    "I: Retrieving Release",
    "I: Validating Packages",
    "I: Installing core packages",
    "I: Unpacking the base system",
    "I: Configuring the base system",
    "I: Base system installed",
)


def context_digest(context: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(str(path.relative_to(context)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise UsageError(f"--base must be one of {', '.join(MODES)}, got {mode!r}")


def build_images(engine: ImageBuilder, mode: str, progress: Progress, force: bool = False) -> dict[str, str]:
    """Make sure drill/lb, drill/app and drill/db exist and match the shipped contexts."""
    check_mode(mode)
    base = context_digest(images_dir() / "base")  # the local base's package list: a change rebuilds all
    digests = {name: context_digest(images_dir() / name)[:8] + base[:8] for name in IMAGES}
    stale = [name for name in IMAGES if force or not _current(engine, name, digests[name], mode)]
    for name in IMAGES:
        if name not in stale:
            progress(f"{IMAGES[name]}: up to date, reused")
    if stale:
        bases = _bases(engine, mode, progress)
        for name in stale:
            _build_one(engine, name, bases[name], digests[name], progress)
    return dict(IMAGES)


def _current(engine: ImageBuilder, name: str, digest: str, mode: str) -> bool:
    labels = engine.image_labels(IMAGES[name])
    if labels is None or labels.get(DIGEST_LABEL) != digest:
        return False
    base = labels.get(BASE_LABEL, "")
    return mode == "auto" or base.startswith(LOCAL_BASE) == (mode == "local")


def _bases(engine: ImageBuilder, mode: str, progress: Progress) -> dict[str, str]:
    if mode in ("auto", "official"):
        progress("trying the registry for official base images ...")
        if all(engine.pull(ref) for ref in OFFICIAL_BASES.values()):
            return dict(OFFICIAL_BASES)
        if mode == "official":
            raise DrillError("no registry answers, so official base images cannot be pulled: use --base local")
        progress("no registry reachable: using drill's own Debian base instead")
    tag = ensure_local_base(engine, progress)
    return {name: tag for name in IMAGES}


def _build_one(engine: ImageBuilder, name: str, base: str, digest: str, progress: Progress) -> None:
    tag = IMAGES[name]
    progress(f"{tag}: building FROM {base}")
    labels = {DIGEST_LABEL: digest, BASE_LABEL: base, "drill.image": "true"}
    for line in engine.build(str(images_dir() / name), tag, {"BASE_IMAGE": base}, labels):
        if line.startswith("Step "):
            progress(f"  {line}")
    progress(f"{tag}: built")


def local_base_tag() -> str:
    """The local base for this package list: its digest in the tag, so checkouts with different
    lists (branches on one engine) each keep theirs instead of rebuilding each other's."""
    return f"{LOCAL_BASE}-{context_digest(images_dir() / 'base')[:8]}"


def ensure_local_base(engine: ImageBuilder, progress: Progress) -> str:
    """debootstrap a minimal bookworm with the stack's packages and import it as drill/base;
    returns the tag the stack's images are built FROM."""
    digest = context_digest(images_dir() / "base")
    tag = local_base_tag()
    labels = engine.image_labels(tag)
    if labels is not None and labels.get(DIGEST_LABEL) == digest:
        progress(f"{tag}: exists, reused")
        return tag
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        raise DrillError(
            "no registry reachable and drill's local base is missing: building it needs root and "
            "debootstrap (`apt-get install debootstrap`, or run `make setup` as root)"
        )
    packages = [
        line.strip()
        for line in (images_dir() / "base" / "packages.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    mirror = os.environ.get("DRILL_DEBIAN_MIRROR", "http://deb.debian.org/debian")
    workdir = Path(tempfile.mkdtemp(prefix="drill-base-"))
    try:
        rootfs, tarball = workdir / "rootfs", workdir / "rootfs.tar"
        progress(f"{tag}: debootstrap bookworm from {mirror} (about a minute) ...")
        _stream(
            ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", "bookworm", str(rootfs), mirror],
            progress,
            "debootstrap",
        )
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
            shutil.rmtree(rootfs / junk, ignore_errors=True)
        _stream(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], progress, "tar")
        progress(f"{tag}: docker import")
        changes = [
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            'CMD ["/bin/bash"]',
            f"LABEL {DIGEST_LABEL}={digest}",  # a changed package list makes a new base
        ]
        engine.import_rootfs(str(tarball), tag, changes)
        engine.import_rootfs(str(tarball), LOCAL_BASE, changes)  # the name tools look for (chaos.containers)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return tag


def _stream(argv: list[str], progress: Progress, what: str) -> None:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        tail = ([*tail, line.rstrip()])[-5:]
        if line.startswith(DEBOOTSTRAP_STAGES):
            progress(f"  {line.rstrip()}")
    if proc.wait() != 0:
        raise DrillError(f"{what} failed (exit {proc.returncode}): {' | '.join(tail)}")
