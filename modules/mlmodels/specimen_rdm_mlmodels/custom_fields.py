"""The `ml:` custom fields of model records (resource type `model`, DataCite "Model").

What a model does (task, labels, input), how its weights are stored (framework, format, which
file), what it was trained on and how well it does (metrics, each tied to a dataset record and
split), and the use cases it is meant for. Metrics are `nested` in the index so that one query
can ask for "mAP ≥ 0.5 on dataset X" without matching a value of one metric against the dataset
of another.
"""

from invenio_records_resources.services.custom_fields import BaseCF, KeywordCF, TextCF
from marshmallow import Schema, fields, validate

ML_NAMESPACE = "https://specimen-rdm.org/terms/ml/"
NAMESPACES = {"ml": ML_NAMESPACE}
"""`RDM_NAMESPACES` entry of model records."""

MODEL_RESOURCE_TYPE = "model"

TASKS = (
    "image-classification",
    "object-detection",
    "instance-segmentation",
    "semantic-segmentation",
    "feature-extraction",
    "text-recognition",
)
FRAMEWORKS = ("pytorch", "onnx", "tesseract")
WEIGHT_FORMATS = ("torchscript", "onnx", "state-dict", "builtin")
SPLITS = ("train", "validation", "test", "all")


OUTPUT_LAYOUTS = ("centre-maps", "torchvision-detections")
"""Output layouts a model can declare (detection models: `centre_maps.py`,
`torchvision_detectors.py`)."""


class InputSpecSchema(Schema):
    """What the model expects: pixel size, channels and the normalisation of its inputs."""

    size = fields.List(fields.Integer(validate=validate.Range(min=1)), validate=validate.Length(2))
    channels = fields.Integer(validate=validate.OneOf((1, 3, 4)))
    mean = fields.List(fields.Float())
    std = fields.List(fields.Float(validate=validate.Range(min=0, min_inclusive=False)))
    resize = fields.String(validate=validate.OneOf(("stretch", "letterbox", "none")))
    output = fields.String(validate=validate.OneOf(OUTPUT_LAYOUTS))


class LabelSchema(Schema):
    """One output of the model and the annotation category it is written as."""

    index = fields.Integer(required=True, validate=validate.Range(min=0))
    name = fields.String(required=True)
    category = fields.String()
    category_set = fields.String()


class DatasetRefSchema(Schema):
    """The dataset record (and version) a metric was measured on."""

    record = fields.String(required=True)
    version = fields.String()


class MetricSchema(Schema):
    """One measured figure: which metric, its value, on which dataset, split and protocol."""

    metric = fields.String(required=True)
    value = fields.Float(required=True, allow_nan=False)
    dataset = fields.Nested(DatasetRefSchema)
    split = fields.String(validate=validate.OneOf(SPLITS))
    protocol = fields.String()


class TrainingSchema(Schema):
    """How the weights were produced: the exact configuration, code version, split and job."""

    job = fields.String()
    code_version = fields.String()
    config = fields.Dict()
    split = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    device = fields.String()
    seconds = fields.Float()
    images_per_second = fields.Float()


class NestedCF(BaseCF):
    """A custom field holding an object (or a list of objects) checked by a marshmallow schema."""

    def __init__(self, name, schema, mapping, multiple=False, **kwargs):
        super().__init__(name, **kwargs)
        self._schema = schema
        self._mapping = mapping
        self._multiple = multiple

    @property
    def field(self) -> fields.Field:
        """The schema, or a list of it."""
        nested = fields.Nested(self._schema)
        return fields.List(nested) if self._multiple else nested

    @property
    def mapping(self) -> dict:
        """The index mapping given at construction."""
        return self._mapping


KEYWORD = {"type": "keyword"}

MODEL_CUSTOM_FIELDS = [
    KeywordCF(name="ml:task", field_args={"validate": validate.OneOf(TASKS)}),
    KeywordCF(name="ml:framework", field_args={"validate": validate.OneOf(FRAMEWORKS)}),
    KeywordCF(name="ml:weight_format", field_args={"validate": validate.OneOf(WEIGHT_FORMATS)}),
    KeywordCF(name="ml:architecture"),
    KeywordCF(name="ml:weights_file"),
    KeywordCF(name="ml:builtin"),
    KeywordCF(name="ml:use_cases", multiple=True),
    KeywordCF(name="ml:keywords", multiple=True),
    TextCF(name="ml:intended_use"),
    NestedCF(
        "ml:input",
        InputSpecSchema,
        {"type": "object", "dynamic": False, "properties": {"size": {"type": "integer"}}},
    ),
    NestedCF(
        "ml:labels",
        LabelSchema,
        {
            "type": "object",
            "properties": {"name": KEYWORD, "category": KEYWORD, "category_set": KEYWORD},
        },
        multiple=True,
    ),
    NestedCF(
        "ml:metrics",
        MetricSchema,
        {
            "type": "nested",
            "properties": {
                "metric": KEYWORD,
                "value": {"type": "double"},
                "dataset": {"properties": {"record": KEYWORD, "version": KEYWORD}},
                "split": KEYWORD,
                "protocol": KEYWORD,
            },
        },
        multiple=True,
    ),
    NestedCF(
        "ml:training",
        TrainingSchema,
        {"type": "object", "dynamic": False, "properties": {"job": KEYWORD}},
    ),
]
"""`RDM_CUSTOM_FIELDS` entries of model records."""

MODEL_FIELD_NAMES = frozenset(field.name for field in MODEL_CUSTOM_FIELDS)
