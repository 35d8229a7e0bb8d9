"""ISO 8601 dates of Darwin Core values, and the label dates of verbatimEventDate.

Darwin Core dates are ISO 8601: a date, a partial date (`1931-06`, `1931`), a datetime
(`1999-07-12 00:00:00.0` as database exports write it) or an interval, also in ISO's abbreviated
form (`1931-06-27/07-02`). Each is read as a `Period` of calendar days; text that is none of
these raises `MalformedValue` naming the term. `parse_verbatim_date` also reads the forms found
on labels (`27.VI.1931`, `27 June 1931`, `VI.1931`).
"""

import calendar
import re
from dataclasses import dataclass
from datetime import date

from .malformed_value import MalformedValue


@dataclass(frozen=True)
class Instant:
    """An ISO 8601 calendar date at year, month or day precision, optionally with a time."""

    year: int
    month: int | None = None
    day: int | None = None
    time: str | None = None

    def earliest(self) -> date:
        return date(self.year, self.month or 1, self.day or 1)

    def latest(self) -> date:
        month = self.month or 12
        return date(self.year, month, self.day or calendar.monthrange(self.year, month)[1])

    def parts(self) -> list[int]:
        return [p for p in (self.year, self.month, self.day) if p is not None]

    def iso(self) -> str:
        text = "-".join([f"{self.year:04d}", *(f"{p:02d}" for p in self.parts()[1:])])
        return f"{text}T{self.time}" if self.time else text


@dataclass(frozen=True)
class Period:
    """A date or an interval of dates."""

    start: Instant
    end: Instant | None = None

    def earliest(self) -> date:
        return self.start.earliest()

    def latest(self) -> date:
        return (self.end or self.start).latest()

    def iso(self) -> str:
        if self.end is None or self.end == self.start:
            return self.start.iso()
        return f"{self.start.iso()}/{self.end.iso()}"


ISO_DATE = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{1,2})(?:-(?P<day>\d{1,2})"
    r"(?:[T ](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,]\d+)?)?"
    r"(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?"
)
ISO_BASIC_DATE = re.compile(r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})")


def checked_instant(term: str, text: str, year: int, month: int | None, day: int | None) -> Instant:
    """A checked calendar date; MalformedValue names what does not exist."""
    if month is not None and not 1 <= month <= 12:
        raise MalformedValue(term, f"'{text}' is not a date: there is no month {month}")
    if day is not None and not 1 <= day <= calendar.monthrange(year, month or 1)[1]:
        raise MalformedValue(
            term, f"'{text}' is not a date: {year:04d}-{month:02d} has no day {day}"
        )
    return Instant(year, month, day)


def _parsechecked_instant(term: str, text: str) -> Instant:
    match = ISO_DATE.fullmatch(text) or ISO_BASIC_DATE.fullmatch(text)
    if not match:
        raise MalformedValue(
            term, f"'{text}' is not an ISO 8601 date (YYYY, YYYY-MM, YYYY-MM-DD or an interval)"
        )
    fields = match.groupdict()
    month, day = fields["month"], fields["day"]
    instant = checked_instant(
        term, text, int(fields["year"]), month and int(month), day and int(day)
    )
    if fields.get("hour") is None:
        return instant
    hour, minute, second = int(fields["hour"]), int(fields["minute"]), fields["second"]
    if hour > 23 or minute > 59 or second is not None and int(second) > 59:
        raise MalformedValue(term, f"'{text}' is not a date: the time of day does not exist")
    time = f"{hour:02d}:{minute:02d}" + (f":{int(second):02d}" if second is not None else "")
    zone = fields["zone"] or ""
    if zone and zone != "Z":
        zone = f"{zone[:3]}:{zone[-2:]}" if len(zone) > 3 else f"{zone}:00"
    return Instant(instant.year, instant.month, instant.day, time + zone)


def parse_interval_end(term: str, text: str, start: Instant, interval: str) -> Instant:
    """An interval's end, also in ISO's abbreviated form (`1931-06-27/07-02`, `…/02`)."""
    if re.match(r"\d{4}", text):
        return _parsechecked_instant(term, text)
    given = [int(p) for p in text.split("-")] if re.fullmatch(r"\d{1,2}(-\d{1,2})?", text) else []
    inherited = start.parts()[: len(start.parts()) - len(given)]
    if not given or not inherited:
        raise MalformedValue(
            term, f"'{interval}' is not an ISO 8601 date interval: its end '{text}' does not fit"
        )
    year, month, day = [*inherited, *given, None, None][:3]
    return checked_instant(term, interval, year, month, day)


def parse_period(term: str, text: str) -> Period:
    """An ISO 8601 date, partial date, datetime or interval; MalformedValue otherwise."""
    if "/" not in text:
        return Period(_parsechecked_instant(term, text))
    parts = [part.strip() for part in text.split("/")]
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise MalformedValue(term, f"'{text}' is not an ISO 8601 date or interval")
    start = _parsechecked_instant(term, parts[0])
    return Period(start, parse_interval_end(term, parts[1], start, text))


def date_range(term: str, text: str) -> tuple[date, date]:
    """First and last day covered by an ISO 8601 date, partial date, datetime or interval.

    Raises MalformedValue (naming `term`) for text that is none of these.
    """
    period = parse_period(term, text.strip())
    return period.earliest(), period.latest()


MONTH_NAMES = {
    name: number
    for number in range(1, 13)
    for name in (calendar.month_name[number].lower(), calendar.month_abbr[number].lower())
} | {"sept": 9}
ROMAN_MONTHS = {
    roman: number
    for number, roman in enumerate(
        ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"), start=1
    )
}


def month_number(word: str) -> int | None:
    word = word.lower().rstrip(".")
    if word.isdigit():
        return int(word)
    return MONTH_NAMES.get(word) or ROMAN_MONTHS.get(word)


def parse_verbatim_date(term: str, text: str) -> Period | None:
    """Label dates: ISO, `27.VI.1931`, `27.6.1931`, `27 June 1931`, `June 27, 1931`, `VI.1931`."""
    try:
        return parse_period(term, text)
    except MalformedValue:
        pass
    normal = " ".join(text.lower().replace(",", " ").split())
    patterns = (
        (r"(\d{1,2})\s*[./-]?\s*([a-z]+\.?|\d{1,2})\s*[./-]?\s*(\d{4})", (0, 1, 2)),
        (r"([a-z]+)\.?\s+(\d{1,2})\s+(\d{4})", (1, 0, 2)),
        (r"([a-z]+\.?|\d{1,2})\s*[./ -]\s*(\d{4})", (None, 0, 1)),
    )
    for pattern, (day_at, month_at, year_at) in patterns:
        match = re.fullmatch(pattern, normal)
        if not match:
            continue
        groups = match.groups()
        month = month_number(groups[month_at])
        day = int(groups[day_at]) if day_at is not None else None
        if month is None:
            return None
        if (
            day is not None
            and groups[month_at].isdigit()
            and day != month
            and max(day, month) <= 12
        ):
            return None  # 5/6/1931: day-month or month-day cannot be told apart
        if day is not None and groups[month_at].isdigit() and month > 12 >= day:
            day, month = month, day  # 6/27/1931, month first
        try:
            return Period(checked_instant(term, text, int(groups[year_at]), month, day))
        except MalformedValue:
            return None
    return None
