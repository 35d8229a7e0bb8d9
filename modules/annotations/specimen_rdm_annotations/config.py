"""Default settings of the annotations module (override in invenio.cfg)."""

ANNOTATIONS_DEFAULT_CATEGORY_SET = "herbarium"
"""Category set of annotations that name none (a file stem in the category-set folder)."""

ANNOTATIONS_CATEGORY_SETS_DIR = None
"""Folder of category-set YAML files; None means `<instance>/app_data/annotation_categories`."""

ANNOTATIONS_EDGE_TOLERANCE = 0.5
"""Pixels a region may overshoot the image edge before it is an error (a warning up to it)."""

ANNOTATIONS_DUPLICATE_IOU = 0.95
"""Same target, same category and at least this IoU: a duplicate (reported, not written)."""

ANNOTATIONS_IMPORT_MAX_BYTES = 512 * 1024 * 1024
"""Largest annotation file (or zip) an import accepts."""

ANNOTATIONS_IMPORT_MAX_ANNOTATIONS = 200_000
"""Most annotations one import may create."""

ANNOTATIONS_EXPORT_MAX_ANNOTATIONS = 500_000
"""Most annotations one export may hold."""
