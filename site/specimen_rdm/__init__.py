"""Specimen RDM instance package: configuration constants and glue wired through entry points."""

__version__ = "0.1.0"
