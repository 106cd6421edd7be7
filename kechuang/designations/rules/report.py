"""What the CLI and the API give out: rule sets with their thresholds and sources, screenings
with their explanations and figures, and the pool as a table.

Plain dicts and lists of JSON-ready values (numbers as text, so that Decimal survives JSON
exactly); the interfaces only render them.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from . import explain
from .definitions import OPERATORS, Band, Criterion, Figure, RuleSet, Table
from .engine import ItemOutcome, Outcome
from .screening import Pool, Screening


def decimal_text(value: Decimal | None, places: int = 6) -> str | None:
    """A Decimal as text, rounded to `places` decimals (a ratio has 50 digits), without trailing zeros."""
    if value is None:
        return None
    value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _note_list(notes) -> list[dict]:
    return [{"zh": note.zh, "en": note.en} for note in notes]


def _citation(citation) -> dict | None:
    if citation is None:
        return None
    return {"source": citation.source.key, "title": citation.source.title, "clause": citation.clause,
            "url": citation.source.url or None}


# --- rule sets ---------------------------------------------------------------------------------


def rule_set_summary(rule_set: RuleSet, on: dt.date) -> dict:
    return {
        "code": rule_set.code,
        "family": rule_set.family,
        "grants": rule_set.grants,
        "grants_name_zh": explain.designation_name(rule_set.grants, "zh"),
        "grants_name_en": explain.designation_name(rule_set.grants, "en"),
        "rule_version": rule_set.rule_version or None,
        "name_zh": rule_set.name_zh,
        "name_en": rule_set.name_en,
        "effective_from": rule_set.effective_from.isoformat(),
        "effective_to": rule_set.effective_to.isoformat() if rule_set.effective_to else None,
        "effective_verified": rule_set.effective_verified,
        "effective_note": _note_list([rule_set.effective_note]) if rule_set.effective_note else [],
        "in_force": rule_set.in_force_on(on),
        "based_on": rule_set.based_on or None,
        "caveat": _note_list([rule_set.caveat]) if rule_set.caveat else [],
        "unverified_parameters": [parameter.name for parameter in rule_set.unverified_parameters],
        "file": rule_set.file.name,
    }


def rule_set_detail(rule_set: RuleSet, on: dt.date) -> dict:
    """Everything a reader needs to check a rule set: its criteria, thresholds, brackets and
    score tables, each with its source and whether it is verified."""
    return {
        **rule_set_summary(rule_set, on),
        "sources": [{"key": s.key, "title": s.title, "url": s.url or None, "note": s.note or None}
                    for s in rule_set.sources.values()],
        "parameters": [{"name": p.name, "value": _plain(p.value), "verified": p.verified,
                        "overridden": p.overridden, "citation": _citation(p.citation),
                        "note": _note_list([p.note]) if p.note else []} for p in rule_set.parameters.values()],
        "figures": [_figure(figure) for figure in rule_set.figures.values()],
        "judgements": [{"code": j.code, "name_zh": j.name_zh, "name_en": j.name_en, "kind": j.kind,
                        "max": decimal_text(j.maximum), "citation": _citation(j.citation),
                        "options": [{"code": o.code, "name_zh": o.name_zh, "name_en": o.name_en,
                                     "points": [decimal_text(o.points[0]), decimal_text(o.points[1])]}
                                    for o in j.options]} for j in rule_set.judgements.values()],
        "criteria": [criterion_definition(criterion) for criterion in rule_set.criteria],
    }


def _plain(value):
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _figure(figure: Figure) -> dict:
    found = {"code": figure.code, "name_zh": figure.name_zh, "name_en": figure.name_en, "unit": figure.unit,
             "kind": figure.kind, "verified": figure.verified, "notes": _note_list(figure.notes)}
    if figure.kind == "metric":
        found.update(metric=figure.metric, years=figure.years, combine=figure.combine)
    elif figure.kind == "formula":
        found.update(formula=figure.formula)
    elif figure.kind == "growth":
        found.update(growth_of=figure.growth_of, years=figure.years, average=figure.average)
    else:
        found.update(registry=figure.registry)
    return found


def _band(band: Band, table: Table, threshold_unit: str | None = None) -> dict:
    found = {"row": band.row, "from": decimal_text(band.lower), "from_inclusive": band.lower_inclusive,
             "to": decimal_text(band.upper), "to_inclusive": band.upper_inclusive,
             "text_zh": explain.band_text(band, table.unit, "zh"), "text_en": explain.band_text(band, table.unit, "en")}
    if band.points is not None:
        found["points"] = [decimal_text(band.points[0]), decimal_text(band.points[1])]
    if band.threshold is not None:
        found["threshold"] = decimal_text(band.threshold)
        found["threshold_text_zh"] = explain.quantity(band.threshold, threshold_unit, "zh")
        found["threshold_text_en"] = explain.quantity(band.threshold, threshold_unit, "en")
    if band.criteria:
        found["criteria"] = [criterion_definition(child) for child in band.criteria]
    return found


def criterion_definition(criterion: Criterion) -> dict:
    found = {"code": criterion.code, "name_zh": criterion.name_zh, "name_en": criterion.name_en,
             "kind": criterion.kind, "applies": criterion.applies, "verified": criterion.verified,
             "notes": _note_list(criterion.notes), "citation": _citation(criterion.citation)}
    if criterion.kind == "compare":
        unit = criterion.figure.unit
        found.update(figure=criterion.figure.code, unit=unit, operator=criterion.operator,
                     symbol=OPERATORS[criterion.operator], each_year=criterion.each_year,
                     remedy=criterion.remedy.figure.code if criterion.remedy else None)
        if criterion.bracket is None:
            found.update(threshold=decimal_text(criterion.threshold),
                         threshold_text_zh=explain.quantity(criterion.threshold, unit, "zh"),
                         threshold_text_en=explain.quantity(criterion.threshold, unit, "en"))
        else:
            found["bracket"] = {"by": criterion.bracket.by.code,
                                "rows": [_band(b, criterion.bracket, unit) for b in criterion.bracket.bands]}
    elif criterion.kind == "holds":
        found["types"] = list(criterion.types)
    elif criterion.kind == "judgement":
        found["judgement"] = criterion.judgement.code
    elif criterion.kind == "score":
        score = criterion.score
        found["score"] = {
            "operator": score.operator, "symbol": OPERATORS[score.operator], "threshold": decimal_text(score.threshold),
            "groups": [{"code": g.code, "name_zh": g.name_zh, "name_en": g.name_en, "max": decimal_text(g.maximum),
                        "at_least": decimal_text(g.minimum)} for g in score.groups],
            "items": [{"code": item.code, "name_zh": item.name_zh, "name_en": item.name_en, "group": item.group or None,
                       "max": decimal_text(item.maximum), "verified": item.verified, "notes": _note_list(item.notes),
                       "ways": [{"judgement": way.judgement.code} if way.judgement else
                                {"figure": way.figure.code, "bands": [_band(b, way.table) for b in way.table.bands]}
                                for way in item.alternatives]} for item in score.items],
        }
    elif criterion.kind == "bracket":
        found["bracket"] = {"by": criterion.bracket.by.code,
                            "rows": [_band(b, criterion.bracket) for b in criterion.bracket.bands]}
    else:
        found["children"] = [criterion_definition(child) for child in criterion.children]
    return found


# --- screenings --------------------------------------------------------------------------------


def screening_summary(screening: Screening, names: dict) -> dict:
    """A pool row: the verdict, the closeness and each top-level criterion in a sentence."""
    unmet, shortfall, awaiting = screening.overall.closeness
    return {
        "rank": screening.rank or None,
        "organisation": {"key": screening.organisation.key, "name_zh": screening.organisation.name_zh,
                         "name_en": screening.organisation.name_en},
        "status": screening.status,
        "verdict_zh": explain.verdict_name(screening.status, "zh"),
        "verdict_en": explain.verdict_name(screening.status, "en"),
        "closeness": {"unmet": unmet, "shortfall": decimal_text(shortfall, 4), "awaiting": awaiting},
        "criteria": [{"code": o.criterion.code, "name_zh": o.criterion.name_zh, "name_en": o.criterion.name_en,
                      "status": o.status, "verified": o.criterion.verified,
                      "text_zh": explain.text(o, screening.year, "zh", names, screening.on),
                      "text_en": explain.text(o, screening.year, "en", names, screening.on)}
                     for o in screening.outcomes],
    }


def screening_detail(screening: Screening, names: dict) -> dict:
    """One enterprise: every criterion with its figures (periods, sources), thresholds, points and sentence."""
    return {
        **screening_summary(screening, names),
        "ruleset": screening.rule_set.code,
        "date": screening.on.isoformat(),
        "year": screening.year,
        "caveat": _note_list([screening.rule_set.caveat]) if screening.rule_set.caveat else [],
        "criteria": [outcome_detail(o, screening, names) for o in screening.outcomes],
    }


def outcome_detail(outcome: Outcome, screening: Screening, names: dict) -> dict:
    criterion, year = outcome.criterion, screening.year
    unmet, shortfall, awaiting = outcome.closeness
    found = {
        "code": criterion.code, "name_zh": criterion.name_zh, "name_en": criterion.name_en, "kind": criterion.kind,
        "status": outcome.status, "status_zh": explain.status_name(outcome.status, "zh"),
        "status_en": explain.status_name(outcome.status, "en"),
        "text_zh": explain.text(outcome, year, "zh", names, screening.on),
        "text_en": explain.text(outcome, year, "en", names, screening.on),
        "verified": criterion.verified, "notes": _note_list(criterion.notes), "citation": _citation(criterion.citation),
        "closeness": {"unmet": unmet, "shortfall": decimal_text(shortfall, 4), "awaiting": awaiting},
    }
    if criterion.kind == "compare":
        unit = criterion.figure.unit
        found.update(
            figure={"code": criterion.figure.code, "name_zh": criterion.figure.name_zh,
                    "name_en": criterion.figure.name_en, "unit": unit},
            value=decimal_text(outcome.value),
            years=[{"year": y, "value": decimal_text(v)} for y, v in outcome.years],
            operator=criterion.operator, symbol=OPERATORS[criterion.operator],
            threshold=decimal_text(outcome.threshold),
            threshold_text_zh=explain.quantity(outcome.threshold, unit, "zh") if outcome.threshold is not None else None,
            threshold_text_en=explain.quantity(outcome.threshold, unit, "en") if outcome.threshold is not None else None,
            gap=decimal_text(outcome.gap),
            remedies=[{"year": y, "figure": criterion.remedy.figure.code, "change": decimal_text(change, 2)}
                      for y, change in outcome.remedies],
        )
        if criterion.bracket is not None:
            by = criterion.bracket.by
            found["bracket"] = {"by": by.code, "value": decimal_text(outcome.by_value),
                                "row": outcome.band.row if outcome.band else None,
                                "text_zh": explain.band_text(outcome.band, by.unit, "zh") if outcome.band else None,
                                "text_en": explain.band_text(outcome.band, by.unit, "en") if outcome.band else None}
    elif criterion.kind == "holds":
        found.update(types=list(criterion.types), held=list(outcome.answer or ()))
    elif criterion.kind == "judgement":
        found.update(judgement=criterion.judgement.code, answer=outcome.answer)
    elif criterion.kind == "score":
        found["score"] = {
            "low": decimal_text(outcome.low), "high": decimal_text(outcome.high),
            "operator": criterion.score.operator, "threshold": decimal_text(criterion.score.threshold),
            "groups": [{"code": g.code, "name_zh": g.name_zh, "name_en": g.name_en, "low": decimal_text(low),
                        "high": decimal_text(high), "max": decimal_text(g.maximum),
                        "at_least": decimal_text(g.minimum)} for g, low, high in outcome.groups],
            "items": [_item(item, screening, names) for item in outcome.items],
        }
    elif criterion.kind == "bracket":
        by = criterion.bracket.by
        found["bracket"] = {"by": by.code, "value": decimal_text(outcome.by_value),
                            "row": outcome.band.row if outcome.band else None}
    found["missing"] = _missing(outcome.missing)
    if outcome.children:
        found["children"] = [outcome_detail(child, screening, names) for child in outcome.children]
    if screening.facts is not None and screening.facts.provenance is not None:
        found["figures"] = figures_used(outcome, screening, names)
    return found


def _item(item: ItemOutcome, screening: Screening, names: dict) -> dict:
    return {"code": item.item.code, "name_zh": item.item.name_zh, "name_en": item.item.name_en,
            "group": item.item.group or None, "max": decimal_text(item.item.maximum), "status": item.status,
            "low": decimal_text(item.low), "high": decimal_text(item.high), "value": decimal_text(item.value),
            "band_row": item.band.row if item.band else None, "answer": item.answer,
            "verified": item.item.verified,
            "text_zh": explain.item_text(item, screening.year, "zh", names),
            "text_en": explain.item_text(item, screening.year, "en", names),
            "missing": _missing(item.missing)}


def _missing(missing: tuple) -> list[dict]:
    found = []
    for gap in missing:
        if len(gap) == 1:
            found.append({"input": gap[0]})
        else:
            found.append({"metric": gap[0], "year": gap[1]})
    return found


def _inputs(outcome: Outcome, year: int) -> list[tuple[Figure, int]]:
    """The figures an outcome read, each with the year it was read for."""
    criterion = outcome.criterion
    if criterion.kind == "compare":
        years = [y for y, _ in outcome.years] or [year]
        found = [(criterion.figure, y) for y in years]
        if criterion.bracket is not None:
            found.append((criterion.bracket.by, year))
        return found
    if criterion.kind == "bracket":
        return [(criterion.bracket.by, year)]
    if criterion.kind == "score":
        return [(way.figure, year) for item in criterion.score.items for way in item.alternatives if way.figure]
    return []


def figures_used(outcome: Outcome, screening: Screening, names: dict) -> list[dict]:
    """The reported figures behind an outcome: metric, year, value and where it came from
    (the observation, its period code, status and source); a missing one with value null."""
    facts, rows, seen = screening.facts, [], set()
    for figure, year in _inputs(outcome, screening.year):
        if figure.uses_founded and "founded" not in seen:
            seen.add("founded")
            rows.append({"input": "founded", "value": facts.founded.isoformat() if facts.founded else None})
        for metric, offset in sorted(figure.metric_offsets, key=lambda pair: (pair[0], -pair[1])):
            key = (metric, year - offset)
            if key in seen:
                continue
            seen.add(key)
            origin = facts.provenance.get(key)
            zh, en = names.get(metric, (metric, metric))
            rows.append({"metric": metric, "name_zh": zh, "name_en": en, "year": key[1],
                         "period": origin.period if origin else None,
                         "value": decimal_text(facts.values.get(key), 4),
                         "observation": origin.observation if origin else None,
                         "status": origin.status if origin else None,
                         "source": origin.source if origin else None})
    return rows


# --- the pool as a table -----------------------------------------------------------------------


def pool_table(pool: Pool) -> tuple[list[str], list[list]]:
    """The header and rows of the pool's spreadsheet: one row an enterprise, and per top-level
    criterion its status and its sentence in Chinese."""
    criteria = [criterion for criterion in pool.rule_set.criteria if criterion.applies]
    header = ["排名 rank", "企业 key", "企业名称 name", "结论 verdict", "未满足项 unmet", "相对差距 shortfall",
              "待评审项 awaiting"]
    for criterion in criteria:
        header += [f"{criterion.code} 状态", f"{criterion.code} 说明"]
    rows = []
    for screening in pool.results:
        unmet, shortfall, awaiting = screening.overall.closeness
        row = [screening.rank, screening.organisation.key, screening.organisation.name_zh or screening.organisation.name_en,
               explain.verdict_name(screening.status, "zh"), unmet, Decimal(decimal_text(shortfall, 4)), awaiting]
        by_code = {outcome.criterion.code: outcome for outcome in screening.outcomes}
        for criterion in criteria:
            outcome = by_code[criterion.code]
            row += [explain.status_name(outcome.status, "zh"),
                    explain.text(outcome, screening.year, "zh", pool.metric_names, screening.on)]
        rows.append(row)
    return header, rows


def screening_table(screening: Screening, names: dict) -> tuple[list[str], list[list]]:
    """One enterprise's explanation as a table: every criterion (nested ones indented), both languages."""
    header = ["准则 criterion", "名称 name", "状态 status", "说明", "explanation"]
    rows = []

    def add(outcome: Outcome, depth: int) -> None:
        criterion = outcome.criterion
        rows.append(["  " * depth + criterion.code, criterion.name_zh, explain.status_name(outcome.status, "zh"),
                     explain.text(outcome, screening.year, "zh", names, screening.on),
                     explain.text(outcome, screening.year, "en", names, screening.on)])
        for child in outcome.children:
            add(child, depth + 1)

    for outcome in screening.outcomes:
        add(outcome, 0)
    return header, rows
