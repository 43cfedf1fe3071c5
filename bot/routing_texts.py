# ruff: noqa: E501
"""Catalogue texts for routing explanations, and their rendering in Chinese or English.

The stored explanation (``Ticket.explanation``, from :meth:`cases.routing.router.RouteDecision.to_dict`) holds
data, not prose; :func:`render_explanation` turns it into lines for ``/ticket`` and ``gridbot route`` with
these templates only (category names from the rules, probabilities as percentages). Quoted resident words
are the resident's own.
"""

from __future__ import annotations

from typing import Any

from cases.rules.schema import Rules

__all__ = ["ROUTING_TEXTS", "render_explanation"]

ROUTING_TEXTS: dict[str, dict[str, str]] = {
    "rx_category": {"zh": "类别：{category}（把握 {confidence}）", "en": "Category: {category} (confidence {confidence})"},
    "rx_category_keywords": {"zh": "类别：{category}（按关键词）", "en": "Category: {category} (by keywords)"},
    "rx_uncertain": {"zh": "把握不足，已请居民从候选类别中确认。", "en": "Not sure enough: the resident is asked to pick the category."},
    "rx_keywords": {"zh": "匹配的关键词：{words}", "en": "Keywords matched: {words}"},
    "rx_no_keywords": {"zh": "没有匹配的关键词。", "en": "No keyword matched."},
    "rx_keyword": {"zh": "“{found}”指向{category}", "en": "“{found}” → {category}"},
    "rx_top": {"zh": "分类器判断：{top}", "en": "Classifier: {top}"},
    "rx_top_item": {"zh": "{category}占{probability}", "en": "{category} {probability}"},
    "rx_neighbour": {"zh": "相似案例（{category}，相似度 {similarity}）：{text}", "en": "Similar example ({category}, similarity {similarity}): {text}"},
    "rx_emergency_signals": {"zh": "按特急处理：发现危险信号 {signals}", "en": "Treated as an emergency: danger signals {signals}"},
    "rx_emergency_model": {"zh": "按特急处理：分类器判断紧急的可能性为 {probability}", "en": "Treated as an emergency: the classifier puts the chance of an emergency at {probability}"},
    "rx_emergency_category": {"zh": "按特急处理：该类别本身为特急。", "en": "Treated as an emergency: the category itself is an emergency."},
    "rx_target": {"zh": "派往：{target}", "en": "Sent to: {target}"},
    "rx_no_target": {"zh": "派往：待确定地点后派发", "en": "Sent to: waiting for the place"},
    "rx_separator": {"zh": "、", "en": ", "},
    "priority_set_ok": {"zh": "{number} 的优先级已改为{priority}。", "en": "The priority of {number} is now {priority}."},
    "rx_general_advice": {"zh": "如有生命危险请立即拨打 120（急救）、119（火警）或 110（报警），并先撤离到安全地点。", "en": "If a life is in danger call 120 (ambulance), 119 (fire) or 110 (police) now, and get to a safe place first."},
}


def _t(key: str, lang: str, **values: object) -> str:
    entry = ROUTING_TEXTS[key]
    return (entry.get(lang) or entry["zh"]).format(**values)


def _pct(value: Any) -> str:
    return f"{float(value):.0%}" if isinstance(value, int | float) else "-"


def render_explanation(explanation: dict[str, Any], rules: Rules, lang: str, *, neighbours: bool = True) -> list[str]:
    """The routing explanation as lines in ``lang`` (``zh`` or ``en``)."""
    data = explanation.get("explanation", explanation)
    if not isinstance(data, dict):
        return []
    sep = _t("rx_separator", lang)
    cat = data.get("category") or {}
    name = rules.category_name(str(cat.get("id", "other")), lang)
    lines = [_t("rx_category", lang, category=name, confidence=_pct(cat["confidence"]))
             if "confidence" in cat else _t("rx_category_keywords", lang, category=name)]
    if cat.get("uncertain"):
        lines.append(_t("rx_uncertain", lang))
    matches = cat.get("keywords", cat.get("matches", []))
    found = [_t("rx_keyword", lang, found=m.get("found", ""),
                category=rules.category_name(str(m.get("category", cat.get("id", "other"))), lang))
             for m in matches if isinstance(m, dict)]
    lines.append(_t("rx_keywords", lang, words=sep.join(found)) if found else _t("rx_no_keywords", lang))
    top = [_t("rx_top_item", lang, category=rules.category_name(str(c), lang), probability=_pct(p))
           for c, p in cat.get("top", [])]
    if top:
        lines.append(_t("rx_top", lang, top=sep.join(top)))
    if neighbours:
        lines.extend(_t("rx_neighbour", lang, category=rules.category_name(str(n.get("category")), lang),
                        similarity=f"{float(n.get('similarity', 0)):.2f}", text=n.get("text", ""))
                     for n in cat.get("neighbours", []) if isinstance(n, dict))
    urgency = data.get("urgency") or {}
    if urgency.get("emergency"):
        signals = [f"“{m.get('found', '')}”" for m in urgency.get("signals", []) if isinstance(m, dict)]
        probability, threshold = urgency.get("probability"), urgency.get("threshold")
        if signals:
            lines.append(_t("rx_emergency_signals", lang, signals=sep.join(signals)))
        elif isinstance(probability, int | float) and isinstance(threshold, int | float) and probability >= threshold:
            lines.append(_t("rx_emergency_model", lang, probability=_pct(probability)))
        else:
            lines.append(_t("rx_emergency_category", lang))
    target = (data.get("route") or {}).get("target")
    lines.append(_t("rx_target", lang, target=rules.target_name(target, lang)) if target else _t("rx_no_target", lang))
    return lines
