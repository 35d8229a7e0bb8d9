"""Image embeddings: stored in PostgreSQL, indexed for k-NN search in OpenSearch.

A feature-extraction pipeline writes one vector per (record, image file, model version). The
table `mlmodels_embedding` is the truth (the index can be rebuilt from it with
`invenio mlmodels reindex-embeddings`); the index `<prefix>mlmodels-embeddings-d<D>` (one per
dimension D) holds the same vectors as `knn_vector` fields with an HNSW graph (k-NN plugin,
Lucene engine, cosine similarity). Similarity search asks the index for the nearest vectors of
one model, then keeps the records the user may read (through the records service, which also
drops superseded versions), best first.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from flask import current_app
from invenio_db import db
from invenio_rdm_records.proxies import current_rdm_records_service
from invenio_search import current_search_client
from sqlalchemy import UniqueConstraint, text
from sqlalchemy.dialects.postgresql import insert


class Embedding(db.Model):
    """One image's vector computed by one model version."""

    __tablename__ = "mlmodels_embedding"
    __table_args__ = (
        UniqueConstraint(
            "record_id", "file_key", "model_record", "model_version", name="uq_mlmodels_embedding"
        ),
    )

    id = db.Column(db.Integer, primary_key=True)
    record_id = db.Column(db.String(64), nullable=False, index=True)
    file_key = db.Column(db.String(1024), nullable=False)
    file_checksum = db.Column(db.String(128), nullable=False)
    model_record = db.Column(db.String(64), nullable=False, index=True)
    model_version = db.Column(db.String(16), nullable=False)
    job_id = db.Column(db.String(64), nullable=True)
    dimension = db.Column(db.Integer, nullable=False)
    vector = db.Column(db.LargeBinary, nullable=False)
    """float32, little-endian, L2-normalised."""
    created = db.Column(db.DateTime, nullable=False)


EMBEDDING_TABLES = [Embedding.__table__]


class SimilarityError(ValueError):
    """A similarity query that cannot be answered: which parameter and why."""

    def __init__(self, field: str, reason: str, status: int = 400) -> None:
        """Error about `field` (HTTP `status`)."""
        super().__init__(f"{field}: {reason}")
        self.field, self.reason, self.status = field, reason, status


def index_name(dimension: int) -> str:
    """The k-NN index of vectors of this dimension (with the instance's index prefix)."""
    return f"{current_app.config.get('SEARCH_INDEX_PREFIX', '')}mlmodels-embeddings-d{dimension}"


def ensure_index(dimension: int) -> str:
    """Create the index of this dimension if missing; its name."""
    name = index_name(dimension)
    client = current_search_client
    if not client.indices.exists(index=name):
        body = {
            "settings": {"index": {"knn": True, "number_of_shards": 1}},
            "mappings": {
                "properties": {
                    "record": {"type": "keyword"},
                    "file": {"type": "keyword"},
                    "model": {"type": "keyword"},
                    "model_version": {"type": "keyword"},
                    "vector": {
                        "type": "knn_vector",
                        "dimension": dimension,
                        "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"},
                    },
                }
            },
        }
        try:
            client.indices.create(index=name, body=body)
        except Exception as error:  # created by another worker meanwhile
            if not client.indices.exists(index=name):
                raise RuntimeError(
                    f"the k-NN index {name} cannot be created ({error}); is the OpenSearch "
                    "k-NN plugin loaded? (make services installs it)"
                ) from error
    return name


def _doc_id(row: dict) -> str:
    parts = (row["record_id"], row["model_record"], row["model_version"], row["file_key"])
    key = "\x00".join(parts)
    return hashlib.sha1(key.encode()).hexdigest()


def done_checksums(recid: str, model_record: str, model_version: str) -> set[str]:
    """Checksums of the record's files this model version has already embedded."""
    rows = db.session.execute(
        text(
            "SELECT file_checksum FROM mlmodels_embedding WHERE record_id = :r "
            "AND model_record = :m AND model_version = :v"
        ),
        {"r": recid, "m": model_record, "v": model_version},
    )
    return {checksum for (checksum,) in rows}


def store_embeddings(rows: list[dict]) -> None:
    """Insert (or replace, for a changed file) embedding rows in the current transaction.

    Each row: record_id, file_key, file_checksum, model_record, model_version, job_id, vector
    (a 1-D float array).
    """
    now = datetime.now(UTC).replace(tzinfo=None)
    values = [
        {
            **{k: v for k, v in row.items() if k != "vector"},
            "dimension": int(len(row["vector"])),
            "vector": np.asarray(row["vector"], dtype="<f4").tobytes(),
            "created": now,
        }
        for row in rows
    ]
    if not values:
        return
    statement = insert(Embedding.__table__).values(values)
    statement = statement.on_conflict_do_update(
        constraint="uq_mlmodels_embedding",
        set_={
            "file_checksum": statement.excluded.file_checksum,
            "job_id": statement.excluded.job_id,
            "dimension": statement.excluded.dimension,
            "vector": statement.excluded.vector,
            "created": statement.excluded.created,
        },
    )
    db.session.execute(statement)


def index_embeddings(rows: list[dict]) -> None:
    """Put rows (as given to store_embeddings, after the commit) into the k-NN index."""
    by_dimension: dict[int, list[dict]] = {}
    for row in rows:
        by_dimension.setdefault(len(row["vector"]), []).append(row)
    for dimension, group in by_dimension.items():
        name = ensure_index(dimension)
        body = []
        for row in group:
            body.append({"index": {"_index": name, "_id": _doc_id(row)}})
            body.append(
                {
                    "record": row["record_id"],
                    "file": row["file_key"],
                    "model": row["model_record"],
                    "model_version": row["model_version"],
                    "vector": [float(x) for x in row["vector"]],
                }
            )
        response = current_search_client.bulk(body=body)
        if response.get("errors"):
            failed = [i for i in response["items"] if i["index"].get("error")]
            raise RuntimeError(f"k-NN indexing failed for {len(failed)} vectors: {failed[0]}")


def reindex_all(batch: int = 500) -> int:
    """Index every stored embedding again (after an index was lost); how many."""
    count, last = 0, 0
    while True:
        found = (
            Embedding.query.filter(Embedding.id > last).order_by(Embedding.id).limit(batch).all()
        )
        if not found:
            return count
        rows = [
            {
                "record_id": e.record_id,
                "file_key": e.file_key,
                "model_record": e.model_record,
                "model_version": e.model_version,
                "vector": np.frombuffer(e.vector, dtype="<f4"),
            }
            for e in found
        ]
        index_embeddings(rows)
        count += len(rows)
        last = found[-1].id


def stored_vector(recid: str, model_record: str, file_key: str | None) -> tuple[str, np.ndarray]:
    """(file key, vector) of a record's image as embedded by the newest version of a model."""
    query = Embedding.query.filter_by(record_id=recid, model_record=model_record)
    if file_key:
        query = query.filter_by(file_key=file_key)
    found = query.order_by(Embedding.created.desc(), Embedding.file_key).first()
    if found is None:
        what = f"file '{file_key}' of record {recid}" if file_key else f"record {recid}"
        raise SimilarityError(
            "record",
            f"{what} has no embedding by model {model_record} yet (its pipeline has not run)",
            status=404,
        )
    return found.file_key, np.frombuffer(found.vector, dtype="<f4")


@dataclass
class SimilarHit:
    """A record whose image is near the query: its best file and cosine similarity."""

    record: str
    file: str
    similarity: float


def nearest(vector: np.ndarray, model_record: str, k: int, exclude: str | None) -> list[SimilarHit]:
    """The records nearest to `vector` among one model's embeddings, best first (any access)."""
    name = index_name(len(vector))
    if not current_search_client.indices.exists(index=name):
        return []
    query = {
        "size": k,
        "_source": ["record", "file"],
        "query": {
            "knn": {
                "vector": {
                    "vector": [float(x) for x in vector],
                    "k": k,
                    "filter": {"term": {"model": model_record}},
                }
            }
        },
    }
    response = current_search_client.search(index=name, body=query)
    hits: dict[str, SimilarHit] = {}
    for hit in response["hits"]["hits"]:
        recid = hit["_source"]["record"]
        if recid == exclude or recid in hits:
            continue
        # Lucene's cosine score is (1 + cos) / 2; report the cosine itself.
        hits[recid] = SimilarHit(recid, hit["_source"]["file"], round(2 * hit["_score"] - 1, 6))
    return list(hits.values())


def readable(identity, hits: list[SimilarHit]) -> list[tuple[SimilarHit, dict]]:
    """The hits whose records `identity` may read (latest versions only), with their JSON."""
    if not hits:
        return []
    ids = " OR ".join(f'"{hit.record}"' for hit in hits)
    found = current_rdm_records_service.search(
        identity, params={"q": f"id:({ids})", "size": len(hits)}
    )
    records = {item["id"]: item for item in found.hits}
    return [(hit, records[hit.record]) for hit in hits if hit.record in records]
