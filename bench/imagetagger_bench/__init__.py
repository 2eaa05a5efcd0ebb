"""`imagetagger bench`: speed of every backend, accuracy of the chosen one, cold start, bulk pipeline throughput.

Each measurement runs in its own process (measure.py), so one engine's thread pool never slows another's and the
ONNX Runtime / OpenVINO figures are those of a process without torch, as in serving.
"""
