"""imagetagger_endpoint: the model server (SageMaker handler functions, ONNX Runtime backends, local endpoint, bench)."""
