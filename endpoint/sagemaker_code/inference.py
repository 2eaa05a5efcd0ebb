"""SageMaker inference entry point (code/inference.py of model.tar.gz).

SageMaker's PyTorch and generic inference containers import this module and call model_fn / input_fn / predict_fn /
output_fn. The implementation is imagetagger_endpoint.handler, packed next to this file by
`imagetagger_endpoint.packaging.build_model_tarball`, so AWS runs exactly what the local endpoint runs.
"""

from imagetagger_endpoint.handler import input_fn, model_fn, output_fn, predict_fn

__all__ = ["input_fn", "model_fn", "output_fn", "predict_fn"]
