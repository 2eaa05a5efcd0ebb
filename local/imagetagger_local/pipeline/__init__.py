"""The training pipeline over the local stack (`imagetagger pipeline run|retag`): the state machine's steps run
in-process against moto and the local endpoint (docs/workflow.md)."""
