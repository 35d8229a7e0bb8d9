"""W3C Web Annotation (JSON-LD, anno.jsonld context) ↔ stored annotations.

One AnnotationPage per image. Selectors: a box is a media-fragment `FragmentSelector`
(`xywh=x,y,w,h`, pixels); a polygon an `SvgSelector` (one `<path>` per ring) offered together
with the FragmentSelector of its box; a mask a FragmentSelector of its box plus, under
`https://specimen-rdm.org/terms/mask`, a `SpecificResource` whose source is the full-size
binary mask as a PNG data URL. Bodies are `TextualBody`s by purpose: classifying (category),
transcribing (text), describing (trait), tagging (tags). Our own terms (score, status,
category set, attributes, trait, stored creator) use full IRIs so that JSON-LD expansion keeps
them and export → import is lossless.
"""

import base64
import io
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import unquote

import numpy as np
from PIL import Image
from pyld import jsonld

from .interchange import (
    ExportImage,
    FormatError,
    ParsedAnnotation,
    ParsedFile,
    ParsedImage,
    Problem,
    load_json,
)
from .rle import mask_to_rle, rle_to_mask

CONTEXT = "http://www.w3.org/ns/anno.jsonld"
TERMS = "https://specimen-rdm.org/terms/"
MEDIA_FRAGMENTS = "http://www.w3.org/TR/media-frags/"
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def _number_text(value: float) -> str:
    """Shortest exact text: `20` for 20.0, `20.25` for 20.25 (repr round-trips floats)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _fragment(box: Sequence[float]) -> dict:
    value = "xywh=" + ",".join(_number_text(v) for v in box)
    return {"type": "FragmentSelector", "conformsTo": MEDIA_FRAGMENTS, "value": value}


def _svg(rings: Sequence[Sequence[float]]) -> dict:
    paths = []
    for ring in rings:
        points = [
            f"{_number_text(ring[i])} {_number_text(ring[i + 1])}" for i in range(0, len(ring), 2)
        ]
        paths.append(f'<path d="M {" L ".join(points)} Z"/>')
    return {
        "type": "SvgSelector",
        "value": f'<svg xmlns="http://www.w3.org/2000/svg">{"".join(paths)}</svg>',
    }


def _mask_resource(rle: dict) -> dict:
    buffer = io.BytesIO()
    Image.fromarray(rle_to_mask(rle) * 255, mode="L").save(buffer, format="PNG", optimize=True)
    return {
        "type": "SpecificResource",
        "source": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(),
        "format": "image/png",
    }


def _bodies(body: dict) -> list[dict]:
    bodies = []
    if body.get("category"):
        bodies.append({"type": "TextualBody", "purpose": "classifying", "value": body["category"]})
    if body.get("text"):
        text = {"type": "TextualBody", "purpose": "transcribing", "value": body["text"]["value"]}
        if body["text"].get("language"):
            text["language"] = body["text"]["language"]
        bodies.append(text)
    if body.get("trait"):
        trait = body["trait"]
        value = f"{trait['name']}={trait['value']}" + (
            f" {trait['unit']}" if trait.get("unit") else ""
        )
        bodies.append(
            {"type": "TextualBody", "purpose": "describing", "value": value, f"{TERMS}trait": trait}
        )
    for tag in body.get("tags") or []:
        bodies.append({"type": "TextualBody", "purpose": "tagging", "value": tag})
    return bodies


def _creator(creator: dict) -> dict:
    if creator.get("type") == "model":
        model = creator.get("model") or {}
        name = f"{model.get('record', '')} {model.get('version', '')}".strip()
        return {"type": "Software", "name": name, f"{TERMS}creator": creator}
    return {
        "type": "Person",
        "nickname": f"user {creator.get('user', '')}".strip(),
        f"{TERMS}creator": creator,
    }


def write_annotation_page(
    image: ExportImage,
    annotations: Sequence[tuple[str, dict]],
    page_id: str,
    annotation_url: Callable[[str], str],
) -> dict:
    """An AnnotationPage of one image's annotations, given as (id, stored annotation)."""
    items = []
    for annotation_id, annotation in annotations:
        selector = annotation["target"]["selector"]
        target = {"type": "SpecificResource", "source": image.url or image.file}
        if selector["type"] == "box":
            target["selector"] = _fragment(selector["box"])
        elif selector["type"] == "polygon":
            target["selector"] = [_svg(selector["polygon"]), _fragment(selector["box"])]
        elif selector["type"] == "mask":
            target["selector"] = _fragment(selector["box"])
            target[f"{TERMS}mask"] = _mask_resource(selector["rle"])
        for extra in ("area", "iscrowd"):
            if extra in selector:
                target[f"{TERMS}{extra}"] = selector[extra]
        body = annotation.get("body") or {}
        item = {
            "id": annotation_url(annotation_id),
            "type": "Annotation",
            "motivation": annotation.get("motivation")
            or ("classifying" if body.get("category") else "describing"),
            "body": _bodies(body),
            "target": target,
        }
        for key in ("created", "updated"):
            if annotation.get(key):
                item["created" if key == "created" else "modified"] = annotation[key]
        if annotation.get("creator"):
            item["creator"] = _creator(annotation["creator"])
        for key in ("score", "status", "attributes"):
            if key in annotation:
                item[f"{TERMS}{key}"] = annotation[key]
        if body.get("category_set"):
            item[f"{TERMS}category_set"] = body["category_set"]
        items.append(item)
    return {"@context": CONTEXT, "id": page_id, "type": "AnnotationPage", "items": items}


def _file_name(source: str) -> str:
    path = unquote(source.split("#", 1)[0].split("?", 1)[0])
    iiif = re.search(r"/iiif/record:[^:/]+:([^/]+)", path)
    if iiif:
        return iiif.group(1)
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[-1] == "content":
        return parts[-2]
    return parts[-1] if parts else source


def _parse_fragment(
    value: str, field: str, problems: list[Problem], index: int
) -> list[float] | None:
    match = re.fullmatch(
        rf"xywh=(?:pixel:)?({NUMBER}),({NUMBER}),({NUMBER}),({NUMBER})", value.strip()
    )
    if value.strip().startswith("xywh=percent:"):
        problems.append(
            Problem(
                "error", index, field, "percent fragments need the image size; use pixel values"
            )
        )
        return None
    if not match:
        problems.append(
            Problem("error", index, field, f"not a media fragment xywh=x,y,w,h: {value!r}")
        )
        return None
    return [float(v) if not float(v).is_integer() or "." in v else int(v) for v in match.groups()]


def _parse_svg(
    value: str, field: str, problems: list[Problem], index: int
) -> list[list[float]] | None:
    rings = []
    for points in re.findall(r'<polygon[^>]*\spoints="([^"]+)"', value):
        numbers = [float(v) for v in re.findall(NUMBER, points)]
        rings.append(numbers)
    for d in re.findall(r'<path[^>]*\sd="([^"]+)"', value):
        if re.search(r"[^MLZmlz\d\s,.eE+-]", d) or re.search(r"[mlz]", d.replace("e", "")):
            problems.append(
                Problem(
                    "error", index, field, "only absolute M, L and Z path commands are supported"
                )
            )
            return None
        for part in re.split(r"[Zz]", d):
            numbers = [
                float(v) if "." in v or "e" in v.lower() else int(v)
                for v in re.findall(NUMBER, part)
            ]
            if numbers:
                rings.append(numbers)
    if not rings:
        problems.append(Problem("error", index, field, "no polygon or path in the SVG"))
        return None
    return rings


def _selector(target: dict, field: str, problems: list[Problem], index: int) -> dict | None:
    raw = target.get("selector")
    selectors = raw if isinstance(raw, list) else [raw] if raw else []
    box = polygon = None
    for position, selector in enumerate(selectors):
        where = f"{field}.selector" + (f"[{position}]" if isinstance(raw, list) else "")
        kind = (selector or {}).get("type")
        if kind == "FragmentSelector":
            box = _parse_fragment(selector.get("value", ""), where, problems, index)
        elif kind == "SvgSelector":
            polygon = _parse_svg(selector.get("value", ""), where, problems, index)
        else:
            problems.append(Problem("error", index, where, f"unsupported selector type {kind!r}"))
            return None
    mask = target.get(f"{TERMS}mask")
    if mask:
        source = mask.get("source", "")
        if not source.startswith("data:image/png;base64,"):
            problems.append(Problem("error", index, f"{field}.mask", "a mask is a PNG data URL"))
            return None
        with Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))) as png:
            rle = mask_to_rle(np.array(png))
        selector = {"type": "mask", "rle": rle, **({"box": box} if box else {})}
    elif polygon is not None:
        if box is None:
            xs = [v for ring in polygon for v in ring[0::2]]
            ys = [v for ring in polygon for v in ring[1::2]]
            box = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        selector = {"type": "polygon", "polygon": polygon, "box": box}
    elif box is not None:
        selector = {"type": "box", "box": box}
    elif selectors:
        return None
    else:
        selector = {"type": "image"}
    for extra in ("area", "iscrowd"):
        if f"{TERMS}{extra}" in target:
            selector[extra] = target[f"{TERMS}{extra}"]
    return selector


def _body(bodies) -> dict:
    body: dict = {}
    for entry in bodies if isinstance(bodies, list) else [bodies] if bodies else []:
        purpose, value = entry.get("purpose"), entry.get("value")
        if purpose in ("classifying", "identifying") and value:
            body["category"] = value
        elif purpose == "transcribing" and value:
            body["text"] = {
                "value": value,
                **({"language": entry["language"]} if entry.get("language") else {}),
            }
        elif purpose == "describing" and f"{TERMS}trait" in entry:
            body["trait"] = entry[f"{TERMS}trait"]
        elif purpose in ("tagging", "commenting", "describing") and value:
            body.setdefault("tags", []).append(value)
    return body


def read_annotation_page(data) -> ParsedFile:
    """Read an AnnotationPage, a single Annotation, or a list of Annotations."""
    data = load_json(data)
    if isinstance(data, dict) and data.get("type") == "AnnotationPage":
        items = data.get("items") or []
    elif isinstance(data, dict) and data.get("type") == "Annotation":
        items = [data]
    elif isinstance(data, list):
        items = data
    else:
        raise FormatError(
            "type", "expected an AnnotationPage, an Annotation or a list of Annotations"
        )
    parsed = ParsedFile()
    images: dict[str, ParsedImage] = {}
    for index, item in enumerate(items):
        field = f"items[{index}]"
        target = item.get("target") if isinstance(item, dict) else None
        if isinstance(target, str):
            target = {"source": target}
        if not isinstance(target, dict) or not target.get("source"):
            parsed.problems.append(
                Problem("error", index, f"{field}.target", "a target needs a source image")
            )
            continue
        selector = _selector(target, f"{field}.target", parsed.problems, index)
        if selector is None:
            continue
        source = target["source"]
        images.setdefault(source, ParsedImage(source, _file_name(source)))
        data = {"target": {"selector": selector}, "body": _body(item.get("body"))}
        if item.get("motivation"):
            data["motivation"] = item["motivation"]
        for key in ("score", "status", "attributes"):
            if f"{TERMS}{key}" in item:
                data[key] = item[f"{TERMS}{key}"]
        stored_creator = (
            (item.get("creator") or {}).get(f"{TERMS}creator")
            if isinstance(item.get("creator"), dict)
            else None
        )
        if stored_creator:
            data["creator"] = stored_creator
        parsed.annotations.append(ParsedAnnotation(index, source, data, field))
    parsed.images = list(images.values())
    return parsed


def expand(document: dict, context_path: Path) -> list:
    """JSON-LD expansion with the local anno.jsonld context; no other URL is fetched."""
    context = json.loads(Path(context_path).read_text())

    def loader(url, options=None):
        if url.rstrip("/") != CONTEXT:
            raise jsonld.JsonLdError(f"refusing to fetch {url}", "loading document failed")
        return {"contextUrl": None, "documentUrl": url, "document": context}

    return jsonld.expand(document, {"documentLoader": loader})
