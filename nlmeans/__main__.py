"""``python -m nlmeans`` runs the command line."""

from .cli import main

main()
