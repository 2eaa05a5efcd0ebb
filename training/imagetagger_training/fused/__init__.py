"""The default model: a COCO-trained detector (TF zoo SSD-MobileNetV2) and the lite0 classifier, fused by a small
calibrated head fitted only on images the detector never saw. `make model` runs `build` (see docs/model.md)."""
