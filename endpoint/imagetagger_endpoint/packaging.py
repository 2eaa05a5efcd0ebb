"""Pack a model folder into SageMaker's model.tar.gz layout.

    model.onnx, model.json, [model.int8.onnx, backend.json], [model_card.md]
    code/inference.py, code/requirements.txt, code/imagetagger/..., code/imagetagger_endpoint/...

SageMaker extracts the archive to /opt/ml/model, puts code/ on sys.path and installs code/requirements.txt. Only the
modules serving needs are packed (no torch, no Powertools), and the archive is byte-for-byte reproducible.

    python -m imagetagger_endpoint.packaging --model-dir models/default --out .local/model.tar.gz
"""

from __future__ import annotations

import argparse
import gzip
import io
import tarfile
from pathlib import Path

import imagetagger
import imagetagger_endpoint
from imagetagger_endpoint.selection import CHOICE_FILE, cache_dir_for

MODEL_FILES = ("model.onnx", "model.json", "model_card.md")
VARIANT_FILES = ("model.int8.onnx", CHOICE_FILE)  # optimised variants made on the build machine, if present
# The package modules the handler imports; everything else in the packages (AWS glue, training) stays out.
SERVING_MODULES = {
    "imagetagger": (
        "__init__.py",
        "embeddings.py",
        "errors.py",
        "jpeg_structure.py",
        "media.py",
        "modelspec.py",
        "preprocessing.py",
        "tags.py",
    ),
    "imagetagger_endpoint": ("__init__.py", "backends.py", "handler.py", "selection.py"),
}
# SageMaker's entry point (code/inference.py) and its requirements: source kept next to the package, packed into every
# model.tar.gz (a model folder holds the model only).
DEFAULT_CODE_DIR = Path(__file__).resolve().parents[1] / "sagemaker_code"


def archive_members(model_dir: Path, code_dir: Path = DEFAULT_CODE_DIR) -> dict[str, Path]:
    """Archive name -> file on disk, in a stable order."""
    if not (model_dir / "model.onnx").is_file() or not (model_dir / "model.json").is_file():
        raise FileNotFoundError(f"{model_dir} must hold model.onnx and model.json")
    members = {name: model_dir / name for name in MODEL_FILES if (model_dir / name).is_file()}
    cache_dir = cache_dir_for(model_dir)
    for name in VARIANT_FILES:
        for folder in (model_dir, cache_dir):
            if (folder / name).is_file():
                members.setdefault(name, folder / name)
    members["code/inference.py"] = code_dir / "inference.py"
    members["code/requirements.txt"] = code_dir / "requirements.txt"
    for package, modules in SERVING_MODULES.items():
        package_dir = Path(imagetagger.__file__ if package == "imagetagger" else imagetagger_endpoint.__file__).parent
        for module in modules:
            members[f"code/{package}/{module}"] = package_dir / module
    return members


def build_model_tarball(model_dir: str | Path, out_path: str | Path, code_dir: Path = DEFAULT_CODE_DIR) -> Path:
    """Write model.tar.gz for SageMaker; returns its path."""
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        out.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for name, path in sorted(archive_members(Path(model_dir), code_dir).items()):
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Pack a model folder as SageMaker's model.tar.gz.")
    parser.add_argument("--model-dir", type=Path, default=Path("models/default"))
    parser.add_argument("--out", type=Path, default=Path(".local/model.tar.gz"))
    args = parser.parse_args(argv)
    print(build_model_tarball(args.model_dir, args.out))  # noqa: T201 (a command-line tool's answer)


if __name__ == "__main__":
    main()
