"""`python -m service` is the `vimod` command."""

from service.cli import main

main()
