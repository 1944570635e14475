"""One module per subcommand group; each exposes add_parser(subparsers)."""
