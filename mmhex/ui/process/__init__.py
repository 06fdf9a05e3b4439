"""Opening a running process: the Open Process list, Run Program, the Regions dock, refresh."""
