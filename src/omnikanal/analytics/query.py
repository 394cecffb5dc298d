"""A report's question, checked: period, lookback, conversion, model, dimension, Markov order.

Every refusal names the parameter at fault (400 with its field)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pydantic import TypeAdapter, ValidationError

from omnikanal.analytics.model import DIMENSIONS, MODELS, Dimension, Options
from omnikanal.analytics.paths import Window
from omnikanal.errors import InvalidInput

_DURATION = TypeAdapter(timedelta)


@dataclass(frozen=True, slots=True)
class Limits:
    default_lookback: timedelta
    max_lookback: timedelta
    max_period: timedelta
    half_life: timedelta
    conversion: str


@dataclass(frozen=True, slots=True)
class Question:
    window: Window
    options: Options
    models: tuple[str, ...]
    dimension: Dimension


def moment(text: str | None, field: str, default: datetime) -> datetime:
    """An ISO 8601 date (its midnight, UTC) or time (UTC unless it names an offset)."""
    if text is None or text == "":
        return default
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("invalid_time", f"{field}: {text!r} is no ISO 8601 date or time", field) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def duration(text: str | None, field: str, default: timedelta) -> timedelta:
    if text is None or text == "":
        return default
    try:
        return _DURATION.validate_python(text)
    except ValidationError:
        raise InvalidInput(
            "invalid_duration", f"{field}: {text!r} is no ISO 8601 duration like P30D", field
        ) from None


def question(
    limits: Limits,
    now: datetime,
    *,
    model: str = "all",
    dimension: str = "channel",
    conversion: str | None = None,
    since: str | None = None,
    until: str | None = None,
    lookback: str | None = None,
    order: int = 1,
    half_life: str | None = None,
) -> Question:
    if model != "all" and model not in MODELS:
        raise InvalidInput("invalid_model", f"model: one of all, {', '.join(MODELS)}", "model")
    if dimension not in DIMENSIONS:
        raise InvalidInput("invalid_dimension", f"dimension: one of {', '.join(DIMENSIONS)}", "dimension")
    if not 1 <= order <= 3:
        raise InvalidInput("invalid_order", "order: the Markov order is 1, 2 or 3", "order")
    end = moment(until, "until", now)
    start = moment(since, "since", end - timedelta(days=30))
    if end <= start:
        raise InvalidInput("empty_period", "until must be after since", "until")
    if end - start > limits.max_period:
        raise InvalidInput("period_too_long", f"since..until: at most {limits.max_period.days} days", "since")
    back = duration(lookback, "lookback", limits.default_lookback)
    if back <= timedelta(0) or back > limits.max_lookback:
        raise InvalidInput(
            "invalid_lookback",
            f"lookback: more than zero and at most {limits.max_lookback.days} days",
            "lookback",
        )
    half = duration(half_life, "half_life", limits.half_life)
    if half <= timedelta(0):
        raise InvalidInput("invalid_half_life", "half_life: more than zero", "half_life")
    name = (conversion or limits.conversion).strip()
    if not name or len(name) > 200:
        raise InvalidInput(
            "invalid_conversion", "conversion: an event name of 1 to 200 characters", "conversion"
        )
    dim: Dimension = dimension
    return Question(
        Window(start, end, back, name),
        Options(lookback=back, half_life=half, markov_order=order),
        MODELS if model == "all" else (model,),
        dim,
    )


def day_after(moment: datetime) -> date:
    """The first day not covered by a period ending at ``moment`` (exclusive), in UTC."""
    utc = moment.astimezone(UTC)
    return utc.date() if utc.time() == time() else utc.date() + timedelta(days=1)


def iso_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    return f"P{days}D" if not rest else f"P{days}DT{rest}S"
