"""Explanations a rep can read: reasons in a stable order and a one-line summary for the CRM.

The sync writes :func:`summary` into a CRM text property (HubSpot multi-line text, Salesforce
Text(255)), so it must fit a length limit and show the biggest contributions first.
"""

from __future__ import annotations

import typing as t

from connector.scoring.result import Reason, ScoreResult

__all__ = ["fit_summary", "format_points", "order_reasons", "reason_label", "reason_text", "summary"]

_SEP = " · "
_MORE = "…"


def order_reasons(reasons: t.Iterable[Reason]) -> tuple[Reason, ...]:
    """Exclusion first, then by absolute points descending, then rule id, dimension, label (section 12)."""
    return tuple(
        sorted(
            reasons,
            key=lambda r: (r.kind != "exclusion", -abs(r.points), r.rule, r.dimension, r.label, r.detail or ""),
        )
    )


def format_points(points: float) -> str:
    """``+25``, ``−10`` (a true minus sign), ``+2.5``: whole numbers without decimals."""
    sign = "−" if points < 0 else "+"
    magnitude = abs(points)
    text = f"{magnitude:.0f}" if magnitude == int(magnitude) else f"{magnitude:.2f}".rstrip("0")
    return f"{sign}{text}"


def reason_text(reason: Reason) -> str:
    """One reason as a rep reads it, e.g. ``+20 4 page views`` or ``excluded: competitor``."""
    if reason.kind == "exclusion":
        return f"excluded: {reason.label}"
    return f"{format_points(reason.points)} {reason_label(reason)}"


def reason_label(reason: Reason) -> str:
    """What follows the points in :func:`reason_text`: the label, after the count when more than one counted."""
    return f"{reason.count} {reason.label}" if reason.count is not None and reason.count > 1 else reason.label


def summary(result: ScoreResult, max_chars: int = 255, texts: dict[Reason, str] | None = None) -> str:
    """Biggest contributions first, joined by `` · ``, never longer than ``max_chars``.

    When not every reason fits, the text ends with ``…`` so a reader knows there is more.
    ``texts``: reason -> its text, kept by a caller writing many summaries (reasons repeat).
    """
    if max_chars <= 0:
        return ""
    made = texts if texts is not None else {}
    parts = []
    for r in order_reasons(result.reasons):
        if r.points != 0 or r.kind == "exclusion":
            text = made.get(r)
            if text is None:
                text = made[r] = reason_text(r)
            parts.append(text)
    return fit_summary(parts, max_chars)


def fit_summary(parts: t.Sequence[str], max_chars: int) -> str:
    """The reasons' texts (in order) joined by `` · ``, cut to ``max_chars`` as :func:`summary` says.

    Every part is kept while the rest can still be marked with ``…``; a first part longer than
    the limit is cut itself.
    """
    if max_chars <= 0:
        return ""
    joined = _SEP.join(parts)
    if len(joined) <= max_chars and all(parts):
        return joined  # all fit: each shorter prefix then leaves room for " · …" (parts are not empty)
    out = ""
    for i, part in enumerate(parts):
        candidate = part if not out else out + _SEP + part
        rest = i + 1 < len(parts)
        room = max_chars - (len(_SEP) + len(_MORE) if rest else 0)
        if len(candidate) <= room:
            out = candidate
            continue
        if not out:
            return (part[: max_chars - 1] + _MORE) if len(part) > max_chars else part[:max_chars]
        tail = _SEP + _MORE
        return out + tail if len(out + tail) <= max_chars else out
    return out
