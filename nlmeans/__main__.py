"""``python -m nlmeans`` runs the command line."""

from ._entry import main

main()
