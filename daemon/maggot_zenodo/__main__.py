"""Allow ``python -m maggot_zenodo``."""

from maggot_zenodo.cli import main

raise SystemExit(main())
