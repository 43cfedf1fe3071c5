"""The ``gridbot`` command line: the single entry point."""
