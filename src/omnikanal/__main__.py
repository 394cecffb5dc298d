"""``python -m omnikanal`` is the ``omnikanal`` command."""

from omnikanal.cli import main

main()
