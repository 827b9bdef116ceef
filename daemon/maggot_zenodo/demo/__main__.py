"""``python -m maggot_zenodo.demo`` (``make demo``)."""

from maggot_zenodo.demo.story import main

raise SystemExit(main())
