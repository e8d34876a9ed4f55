"""The ``nr`` command line."""
