"""What the PyInstaller bundle runs: the same entry point as the ``mmhex`` console script."""

import sys

from mmhex.cli import main

if __name__ == "__main__":
    sys.exit(main())
