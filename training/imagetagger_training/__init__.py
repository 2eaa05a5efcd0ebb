"""Training, evaluation and export of the imagetagger model (imports PyTorch; never imported at serving time)."""
