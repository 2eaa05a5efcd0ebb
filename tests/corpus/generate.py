"""Write the small corpus files to tests/corpus/files/ (or check that they are current).

    .venv/bin/python tests/corpus/generate.py          # rewrite the committed files
    .venv/bin/python tests/corpus/generate.py --check  # exit 1 when a committed file differs from its builder

Big entries (bombs, oversized files, huge metadata) are not written: tests build them when they run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `corpus` is importable as in the tests

from corpus.manifest import CASES, FILES_DIR  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    FILES_DIR.mkdir(exist_ok=True)
    stale = []
    for case in CASES:
        if not case.committed:
            continue
        path = FILES_DIR / case.filename
        data = case.build()
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(path.name)
        else:
            path.write_bytes(data)
    expected = {case.filename for case in CASES if case.committed}
    extra = sorted(p.name for p in FILES_DIR.iterdir() if p.name not in expected)
    if args.check:
        for name in stale:
            print(f"stale: {name}")
        for name in extra:
            print(f"not in the manifest: {name}")
        return 1 if stale or extra else 0
    for name in extra:
        (FILES_DIR / name).unlink()
    print(f"wrote {len(expected)} files to {FILES_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
