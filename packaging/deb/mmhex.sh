#!/bin/sh
# mmhex launcher: the program is a self-contained bundle under /opt/mmhex.
exec /opt/mmhex/mmhex "$@"
