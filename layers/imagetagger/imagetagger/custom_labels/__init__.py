"""Users' own labels ("my bike", "receipt"): names, examples, a small classifier over image embeddings per label.

names: what a label may be called. store: the LabelsTable items. examples: corrections and POST /labels turned into
positive/negative examples. classifier: applying a trained label with numpy alone (the processing function needs no
scikit-learn). training: fitting one (scikit-learn; the label training function and the evaluation only).
"""
