"""The annotation record type: DB model, record API, JSON schema and search mapping."""
