"""Community ratings of models: one 1–5 rating (with an optional comment) per user and model.

A rating belongs to the model concept (all versions of a model record), so it survives new
versions. The summary shrinks the mean towards a prior (a Bayesian average), so that one
enthusiastic 5 does not outrank forty ratings averaging 4.6:

    bayesian = (C · m + Σ ratings) / (C + n)

with m = MLMODELS_RATING_PRIOR_MEAN (3.0) and C = MLMODELS_RATING_PRIOR_WEIGHT (5 ratings).
"""

from datetime import UTC, datetime

from flask import current_app
from invenio_db import db
from sqlalchemy import UniqueConstraint, func


class ModelRating(db.Model):
    """One user's rating of one model concept."""

    __tablename__ = "mlmodels_rating"
    __table_args__ = (UniqueConstraint("model_concept", "user_id", name="uq_mlmodels_rating"),)

    id = db.Column(db.Integer, primary_key=True)
    model_concept = db.Column(db.String(64), nullable=False, index=True)
    user_id = db.Column(db.Integer, db.ForeignKey("accounts_user.id"), nullable=False)
    value = db.Column(db.SmallInteger, nullable=False)
    comment = db.Column(db.Text, nullable=True)
    updated = db.Column(db.DateTime, nullable=False)


RATING_TABLES = [ModelRating.__table__]


class RatingError(ValueError):
    """A rating the API refuses: which field and why."""

    def __init__(self, field: str, reason: str) -> None:
        """Error about `field`."""
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def rate(concept: str, user_id: int, value, comment: str | None) -> ModelRating:
    """Set (or replace) the user's rating of the model concept; committed."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise RatingError("value", "a whole number from 1 to 5")
    if comment is not None and (not isinstance(comment, str) or len(comment) > 2000):
        raise RatingError("comment", "text of at most 2,000 characters")
    rating = ModelRating.query.filter_by(model_concept=concept, user_id=user_id).one_or_none()
    if rating is None:
        rating = ModelRating(model_concept=concept, user_id=user_id)
        db.session.add(rating)
    rating.value, rating.comment = value, comment
    rating.updated = datetime.now(UTC).replace(tzinfo=None)
    db.session.commit()
    return rating


def unrate(concept: str, user_id: int) -> bool:
    """Remove the user's rating; whether there was one."""
    deleted = ModelRating.query.filter_by(model_concept=concept, user_id=user_id).delete()
    db.session.commit()
    return bool(deleted)


def bayesian_average(count: int, total: float, prior_mean: float, prior_weight: float) -> float:
    """(C · m + Σ) / (C + n): the mean shrunk towards the prior by C pseudo-ratings."""
    return (prior_weight * prior_mean + total) / (prior_weight + count)


def rating_summary(concept: str) -> dict:
    """Count, mean and Bayesian average of the concept's ratings."""
    count, total = (
        db.session.query(func.count(ModelRating.id), func.coalesce(func.sum(ModelRating.value), 0))
        .filter(ModelRating.model_concept == concept)
        .one()
    )
    config = current_app.config
    return {
        "count": int(count),
        "mean": round(float(total) / count, 4) if count else None,
        "bayesian": round(
            bayesian_average(
                int(count),
                float(total),
                config["MLMODELS_RATING_PRIOR_MEAN"],
                config["MLMODELS_RATING_PRIOR_WEIGHT"],
            ),
            4,
        ),
    }


def ratings_of(concept: str) -> list[dict]:
    """Every rating of the concept, newest first."""
    rows = (
        ModelRating.query.filter_by(model_concept=concept)
        .order_by(ModelRating.updated.desc())
        .all()
    )
    return [
        {
            "user": r.user_id,
            "value": r.value,
            "comment": r.comment,
            "updated": r.updated.isoformat(),
        }
        for r in rows
    ]
