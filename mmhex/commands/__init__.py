"""Headless subcommands (`mmhex NAME ...`): each module has HELP, add_arguments(parser), run(args).

They use mmhex.core only and never import Qt.
"""
