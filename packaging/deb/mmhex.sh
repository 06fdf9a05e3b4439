#!/bin/sh
# mmhex launcher: the program is a self-contained bundle under /opt/mmhex.
# The bundle carries Qt's X11 (xcb) platform, not Wayland's: on a Wayland desktop it runs through
# XWayland, and saying so up front spares Qt's "could not find the wayland plugin" warning.
if [ -z "${QT_QPA_PLATFORM:-}" ]; then
    QT_QPA_PLATFORM=xcb
    export QT_QPA_PLATFORM
fi
exec /opt/mmhex/mmhex "$@"
