"""`python -m caseroute`: the `caseroute` command without the installed script."""

from caseroute.cli import main

main()
