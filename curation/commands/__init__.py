"""One module per ``curate`` subcommand. Each defines ``register(subparsers)``, which adds its
parser and sets ``func``; :mod:`curation.cli` discovers the modules here, so adding a command
never touches a shared file."""
