"""Names of the annotation formats the REST API imports and exports."""

IMPORT_FORMATS = ("coco", "voc", "masks", "yolo", "inselect", "w3c")
EXPORT_FORMATS = ("coco", "coco-results", "voc", "masks", "yolo", "inselect", "w3c")

MEDIA_TYPES = {
    "coco": "application/json",
    "coco-results": "application/json",
    "w3c": 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"',
    "zip": "application/zip",
}
