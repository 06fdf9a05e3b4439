"""Compare two files side by side: two HexViews, a shared scroll link, the differences list."""
