"""Darwin Core + Audubon Core specimen records: terms, validation, ingest, exports."""
