"""Marshmallow schema of annotations (REST in and out); geometry rules live in validation.py."""

from invenio_records_resources.services.records.schema import BaseRecordSchema
from marshmallow import EXCLUDE, Schema, fields, validate

from ..validation import MOTIVATIONS, SELECTOR_TYPES

STATUS_STATES = ("proposed", "accepted", "rejected")


class SelectorSchema(Schema):
    """Where on the image: whole image, box, polygon rings or a COCO RLE mask (pixels)."""

    type = fields.String(required=True, validate=validate.OneOf(sorted(SELECTOR_TYPES)))
    box = fields.List(fields.Float(allow_nan=False), validate=validate.Length(equal=4))
    polygon = fields.List(fields.List(fields.Float(allow_nan=False)))
    rle = fields.Dict()
    area = fields.Float(allow_nan=False)
    iscrowd = fields.Boolean()


class TargetSchema(Schema):
    """The record, its image file, the image's pixel size and the selector."""

    record = fields.String(required=True, validate=validate.Length(min=1))
    file = fields.String(required=True, validate=validate.Length(min=1))
    width = fields.Integer(strict=True, validate=validate.Range(min=1))
    height = fields.Integer(strict=True, validate=validate.Range(min=1))
    selector = fields.Nested(SelectorSchema, required=True)


class TraitSchema(Schema):
    """A measured or scored property, e.g. leaf_length = 4.2 cm."""

    name = fields.String(required=True, validate=validate.Length(min=1))
    value = fields.Raw(required=True)
    unit = fields.String()


class TextSchema(Schema):
    """Transcribed text and its language (BCP 47)."""

    value = fields.String(required=True, validate=validate.Length(min=1))
    language = fields.String()


class BodySchema(Schema):
    """What the region is or says."""

    category = fields.String()
    category_set = fields.String()
    trait = fields.Nested(TraitSchema)
    text = fields.Nested(TextSchema)
    tags = fields.List(fields.String(validate=validate.Length(min=1)))


class ModelRefSchema(Schema):
    """The model record and version that produced a machine annotation."""

    record = fields.String(required=True)
    version = fields.String()


class CreatorSchema(Schema):
    """A person (the user) or a model run; who may claim a model is decided by the service."""

    type = fields.String(required=True, validate=validate.OneOf(("person", "model")))
    user = fields.String()
    model = fields.Nested(ModelRefSchema)
    job = fields.String()


class StatusSchema(Schema):
    """Review state, who set it and when."""

    state = fields.String(validate=validate.OneOf(STATUS_STATES))
    by = fields.String()
    at = fields.String()


class AnnotationSchema(BaseRecordSchema):
    """An annotation as the REST API reads and writes it."""

    class Meta:
        unknown = EXCLUDE

    target = fields.Nested(TargetSchema, required=True)
    body = fields.Nested(BodySchema, required=True)
    motivation = fields.String(validate=validate.OneOf(sorted(MOTIVATIONS)))
    score = fields.Float(allow_nan=False, validate=validate.Range(min=0, max=1))
    creator = fields.Nested(CreatorSchema)
    status = fields.Nested(StatusSchema, dump_only=True)
    attributes = fields.Dict()


class ReviewSchema(Schema):
    """A curator's decision on an annotation."""

    state = fields.String(required=True, validate=validate.OneOf(("accepted", "rejected")))
