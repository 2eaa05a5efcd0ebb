"""Entry point of the `imagetagger` console script."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from imagetagger_cli import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imagetagger", description="Automated image tagging (COCO's 80 classes).")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        module.register(subparsers)
    return parser


# What the dev requirements add to the runtime (requirements/dev.txt); a command that needs one says so in one line.
DEV_ONLY_MODULES = frozenset({"torch", "torchvision", "torchmetrics", "sklearn", "scipy", "matplotlib", "pycocotools"})


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in DEV_ONLY_MODULES:
            raise
        print(
            f"error: `imagetagger {args.command}` needs the dev requirements ({exc.name} is missing): "
            "run `make setup-dev` (pip install -r requirements/dev.txt)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
