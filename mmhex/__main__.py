"""Allows ``python -m mmhex``."""

from mmhex.cli import launch

launch()
