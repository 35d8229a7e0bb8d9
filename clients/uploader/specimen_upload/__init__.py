"""`specimen-upload`: bulk deposit of specimens to a Specimen RDM instance, losing nothing.

It reads a Darwin Core Archive or a folder of images plus a CSV, sends the records in batches to
`/api/bulk/jobs`, uploads each image in checksum-verified parts, keeps a local SQLite journal
(so a killed run resumes where it stopped), and finally reconciles every record with the
server's own list of outcomes.
"""

__version__ = "0.1.0"
