"""Getting MovieLens 100K into a local cache, verified, without installing anything.

The files come from the PyPI wheel ``recbole==1.2.1``, which redistributes
them; ``pip download`` reaches only pip's configured index, and nothing from
the wheel is installed or imported. Every file is checked against a pinned
sha256 and the cache folder appears atomically, so a half-written or
tampered copy is never used.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

from ytrec_infer.artifact import sha256_file

from .errors import DataError

logger = logging.getLogger(__name__)

DATA_HOME_ENV = "YTREC_DATA_HOME"
SUMS_FILE = "SHA256SUMS"

RECBOLE_REQUIREMENT = "recbole==1.2.1"
RECBOLE_WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
MOVIELENS_100K = "movielens-100k"
_MEMBER_DIR = "recbole/dataset_example/ml-100k/"
MOVIELENS_100K_FILES: Mapping[str, str] = {
    "ml-100k.inter": "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    "ml-100k.item": "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
    "ml-100k.user": "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
}
_FETCH_HINT = "run `ytrec data fetch movielens-100k`"


def default_cache_dir() -> Path:
    """``$YTREC_DATA_HOME`` if set, else ``~/.cache/ytrec/data``."""
    configured = os.environ.get(DATA_HOME_ENV)
    return (
        Path(configured).expanduser() if configured else Path.home() / ".cache" / "ytrec" / "data"
    )


def is_verified(folder: Path, files: Mapping[str, str]) -> bool:
    """Whether ``folder`` holds every file in ``files`` (name -> sha256) with that digest."""
    return all(
        (folder / name).is_file() and sha256_file(folder / name) == digest
        for name, digest in files.items()
    )


def _member_files(members: Mapping[str, str]) -> dict[str, str]:
    """Map archive members to the file names they get in the dataset folder."""
    files = {member.rsplit("/", 1)[-1]: digest for member, digest in members.items()}
    if len(files) != len(members) or SUMS_FILE in files:
        raise ValueError(
            f"member names must have distinct base names other than {SUMS_FILE}: {list(members)}"
        )
    return files


def _read_members(wheel: Path, members: Mapping[str, str]) -> dict[str, bytes]:
    """The members' bytes, each checked against its expected sha256."""
    contents: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(wheel) as archive:
            for member, expected in members.items():
                try:
                    data = archive.read(member)
                except KeyError:
                    raise DataError(
                        f"{wheel}: member {member} is missing; this is not the expected wheel, "
                        "delete it and fetch again"
                    ) from None
                actual = hashlib.sha256(data).hexdigest()
                if actual != expected:
                    raise DataError(
                        f"{wheel}: member {member} has sha256 {actual}, expected {expected}; "
                        "delete the wheel and fetch again"
                    )
                contents[member] = data
    except zipfile.BadZipFile as exc:
        raise DataError(
            f"{wheel}: not a valid wheel/zip file ({exc}); delete it and fetch again"
        ) from exc
    return contents


def _install(staging: Path, dest: Path, files: Mapping[str, str]) -> None:
    """Move the verified ``staging`` folder to ``dest``; a verified ``dest`` is left as it is."""
    if not dest.exists():
        try:
            os.replace(staging, dest)
        except OSError:
            # Another process may have installed a copy in the meantime.
            if not is_verified(dest, files):
                raise
        return
    if is_verified(dest, files):
        logger.info("%s already holds a verified copy; keeping it", dest)
        return
    # An incomplete or altered copy: move it aside, then rename the new one in.
    aside = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
    try:
        os.replace(dest, aside / dest.name)
        try:
            os.replace(staging, dest)
        except OSError:
            os.replace(aside / dest.name, dest)
            raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def extract_verified(
    wheel: Path, expected_wheel_sha256: str, members: Mapping[str, str], dest: Path
) -> Path:
    """Copy ``members`` (archive path -> sha256) of a verified ``wheel`` into folder ``dest``.

    Writes the files under their base names plus a ``SHA256SUMS``. Nothing is
    written to ``dest`` unless every digest matches, and ``dest`` appears in
    one rename, so a failure leaves no partial folder and an existing
    verified copy untouched.
    """
    wheel = Path(wheel)
    dest = Path(dest)
    files = _member_files(members)
    if not wheel.is_file():
        raise DataError(f"{wheel}: wheel file not found")
    actual = sha256_file(wheel)
    if actual != expected_wheel_sha256:
        raise DataError(
            f"{wheel}: sha256 {actual} does not match the expected {expected_wheel_sha256}; "
            "delete it and fetch again, and check that your package index serves the genuine wheel"
        )
    contents = _read_members(wheel, members)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        staging.chmod(0o755)
        for member, data in contents.items():
            (staging / member.rsplit("/", 1)[-1]).write_bytes(data)
        sums = "".join(f"{digest}  {name}\n" for name, digest in sorted(files.items()))
        (staging / SUMS_FILE).write_text(sums, encoding="ascii")
        _install(staging, dest, files)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("wrote %s from %s", dest, wheel.name)
    return dest


def _pip_download(requirement: str, target: Path) -> Path:
    """Download one wheel (no dependencies, no install) with pip and return its path."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        requirement,
        "-d",
        str(target),
    ]
    logger.info("downloading %s with pip", requirement)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout or "").strip()[-2000:]
        raise DataError(
            f"`pip download {requirement}` failed (exit {result.returncode}): {tail}\n"
            "Check access to your package index, or download the wheel "
            "recbole-1.2.1-py3-none-any.whl yourself and pass it with "
            "`ytrec data fetch movielens-100k --wheel PATH`."
        )
    wheels = sorted(target.glob("*.whl"))
    if len(wheels) != 1:
        raise DataError(
            f"`pip download {requirement}` left {len(wheels)} wheel files in {target}, expected 1"
        )
    return wheels[0]


def fetch_movielens_100k(cache_dir: Path | None = None, wheel: Path | None = None) -> Path:
    """Return the verified MovieLens 100K folder in the cache, fetching it first if needed.

    ``wheel`` uses a local ``recbole-1.2.1`` wheel instead of pip; it is verified all the same.
    """
    dest = (
        Path(cache_dir if cache_dir is not None else default_cache_dir()).expanduser()
        / MOVIELENS_100K
    )
    if is_verified(dest, MOVIELENS_100K_FILES):
        logger.info("using cached %s", dest)
        return dest
    members = {_MEMBER_DIR + name: digest for name, digest in MOVIELENS_100K_FILES.items()}
    if wheel is not None:
        return extract_verified(Path(wheel), RECBOLE_WHEEL_SHA256, members, dest)
    with tempfile.TemporaryDirectory(prefix="ytrec-pip-") as download_dir:
        downloaded = _pip_download(RECBOLE_REQUIREMENT, Path(download_dir))
        return extract_verified(downloaded, RECBOLE_WHEEL_SHA256, members, dest)


DATASETS: dict[str, Callable[..., Path]] = {MOVIELENS_100K: fetch_movielens_100k}
_DATASET_FILES: dict[str, Mapping[str, str]] = {MOVIELENS_100K: MOVIELENS_100K_FILES}


def resolve_dataset(spec: str, cache_dir: Path | None = None) -> Path:
    """The folder for ``spec``: an existing folder as is, or a known name's verified cached copy.

    Never downloads; a known name that is not cached yet is a DataError saying how to fetch it.
    """
    folder = Path(spec).expanduser()
    if folder.is_dir():
        return folder
    if spec not in DATASETS:
        raise DataError(
            f"{spec!r} is neither a folder nor a known dataset ({', '.join(sorted(DATASETS))}); "
            f"pass a dataset folder, or {_FETCH_HINT} and use the name movielens-100k"
        )
    cached = Path(cache_dir if cache_dir is not None else default_cache_dir()).expanduser() / spec
    if not is_verified(cached, _DATASET_FILES[spec]):
        raise DataError(
            f"dataset {spec!r} is not in the cache at {cached} (or is incomplete); "
            f"run `ytrec data fetch {spec}` to download it"
        )
    return cached
