"""ML model records, model runtime, inference pipelines and training jobs."""
