"""Allows ``python -m mmhex``."""

from mmhex.cli import main

raise SystemExit(main())
