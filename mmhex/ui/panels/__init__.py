"""Side panels (docks) of the main window; each draws what a core object computes."""
