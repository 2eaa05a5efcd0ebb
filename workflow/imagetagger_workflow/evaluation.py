"""The evaluate step: the candidate and the serving model scored on the same test manifest, by the same code.

Runs inside `imagetagger pipeline run` locally and, in AWS, as the SageMaker Processing job of the Evaluate state
(`python -m imagetagger_workflow.evaluation --candidate ... --production ... --test ... --out ...`), whose
comparison.json the Decide Lambda reads. Scores come from the training package's evaluate_model (the exported ONNX
graph, i.e. what would serve), so a model is judged exactly as it would answer users.
"""

from __future__ import annotations

import argparse
import json
import tarfile
from pathlib import Path
from typing import Any

SUMMARY_KEYS = ("mAP", "CF1", "OF1", "n_images", "n_classes_present")


def score(model_dir: Path, test_manifest: Path) -> dict[str, Any]:
    """Headline figures of one model on the test manifest, plus its version."""
    from imagetagger_training.evaluate import evaluate_model  # torch: only where evaluation runs

    report = evaluate_model(model_dir, test_manifest, None)
    figures = {key: round(v, 2) if isinstance(v := report.metrics[key], float) else v for key in SUMMARY_KEYS}
    return {"model_version": report.model_version, **figures, "unreadable": len(report.unreadable)}


def compare(candidate_dir: Path, production_dir: Path | None, test_manifest: Path) -> dict[str, Any]:
    return {
        "test_manifest": str(test_manifest),
        "candidate": score(candidate_dir, test_manifest),
        "production": score(production_dir, test_manifest) if production_dir is not None else None,
    }


def unpack_model(path: Path, into: Path) -> Path:
    """A SageMaker model.tar.gz (or an already unpacked folder) as a folder with model.onnx."""
    if path.is_dir():
        return path
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path) as archive:
        archive.extractall(into, filter="data")  # "data": no absolute paths, links or devices from the archive
    return into


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Score a candidate and the serving model on the same test manifest.")
    parser.add_argument("--candidate", type=Path, required=True, help="model folder or model.tar.gz")
    parser.add_argument("--production", type=Path, help="model folder or model.tar.gz (none on the first run)")
    parser.add_argument("--test", type=Path, required=True, help="test manifest (.jsonl)")
    parser.add_argument("--out", type=Path, required=True, help="where comparison.json is written")
    parser.add_argument(
        "--serving-out",
        type=Path,
        help="also write the candidate as a servable model.tar.gz (model files + code/ from --serving-code)",
    )
    parser.add_argument("--serving-code", type=Path, help="folder with inference.py and requirements.txt")
    args = parser.parse_args(argv)
    work = args.out.parent / "unpacked"
    production = None
    if args.production is not None and args.production.exists():
        production = unpack_model(args.production, work / "production")
    candidate = unpack_model(args.candidate, work / "candidate")
    result = compare(candidate, production, args.test)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    if args.serving_out is not None:
        # The training job's archive holds the model files only; SageMaker serves code/inference.py from the archive.
        from imagetagger_endpoint.packaging import build_model_tarball

        build_model_tarball(candidate, args.serving_out, code_dir=args.serving_code)


if __name__ == "__main__":
    main()
