"""Annotation records: regions, traits and transcriptions on specimen images."""
