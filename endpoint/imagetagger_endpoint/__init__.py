"""imagetagger_endpoint: the model server (SageMaker handler functions, inference backends, local endpoint)."""
