"""The training workflow: prepare data -> train -> evaluate -> promote or refuse -> record (AWS and local)."""
