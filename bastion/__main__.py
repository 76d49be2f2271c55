"""`python -m bastion` runs the command-line interface."""

from bastion.cli import main

raise SystemExit(main())
