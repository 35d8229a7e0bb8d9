"""Annotation service: schema, permissions, components, search parameters and config."""
