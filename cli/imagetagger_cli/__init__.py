"""The `imagetagger` command line."""
