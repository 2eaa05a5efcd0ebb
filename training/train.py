"""SageMaker script-mode entry point: `python train.py --epochs 10 ...` (or `torchrun ... train.py` for DDP).

SageMaker installs training/requirements.txt, passes hyperparameters as flags and sets SM_CHANNEL_TRAIN, SM_MODEL_DIR
and SM_OUTPUT_DATA_DIR, which are the flags' defaults.
"""

import sys
from pathlib import Path

# In the SageMaker container this folder is the source dir: make the training package and the shared layer package
# (copied next to it as imagetagger/ when packaging, or found in the repository) importable without installing them.
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "layers" / "imagetagger")]

from imagetagger_training.train import get_args_parser, main  # noqa: E402

if __name__ == "__main__":
    main(get_args_parser().parse_args())
