"""REST resource of annotations: CRUD, revisions, review, import and export."""
