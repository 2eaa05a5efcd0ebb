"""One module per subcommand; each exposes `register(subparsers)` and imports heavy libraries lazily."""
