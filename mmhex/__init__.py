"""mmhex: a hex viewer and editor whose storage is the operating system's virtual memory."""

__version__ = "0.1.0"
