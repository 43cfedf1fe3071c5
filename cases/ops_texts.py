"""Words of the operator texts ``cases/`` writes itself (health problems, the holiday-calendar check, the sweep
report), in Chinese and English; adapters choose the language (:func:`cases.i18n.lookup`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cases.durations import format_duration
from cases.i18n import lookup

OPS_TEXTS: dict[str, dict[str, str]] = {
    # --- health problems (gridbot status) ---
    "health_no_leader": {"zh": "没有机器人进程持有主控租约：机器人在运行吗？",
                         "en": "no bot process holds the leader lease: is the bot running?"},
    "health_lease_out": {"zh": "{leader} 的主控租约已于 {ago} 前过期：没有机器人进程在处理消息",
                         "en": "the leader lease of {leader} ran out {ago} ago: no bot process is handling updates"},
    "health_inbox_stalled": {
        "zh": "收件队列没有进展：{waiting} 条消息在等待，最早的已等 {oldest}，最近 {within} 内一条也没处理",
        "en": "the inbox makes no progress: {waiting} updates wait, the oldest for {oldest}, "
              "and none was handled in the last {within}"},
    "health_inbox_slow": {"zh": "{waiting} 条消息等待处理，最早的已等 {oldest}",
                          "en": "{waiting} updates wait to be handled, the oldest for {oldest}"},
    "health_outbox_stalled": {
        "zh": "发件队列没有进展：{waiting} 条消息在等待，最早的已到期 {oldest}，最近 {within} 内一条也没发出",
        "en": "the outbox makes no progress: {waiting} messages wait, the oldest due for {oldest}, "
              "and none was sent in the last {within}"},
    "health_outbox_slow": {"zh": "{waiting} 条消息等待发送，最早的已到期 {oldest}（电报无法连接或被限速？）",
                           "en": "{waiting} messages wait to be sent, the oldest due for {oldest} "
                                 "(Telegram unreachable or rate-limited?)"},
    "health_job_failed": {"zh": "定时任务 {job} 上次运行失败：{error}", "en": "the last {job} run failed: {error}"},
    "health_job_late": {"zh": "定时任务 {job} 已 {since} 没有完成（每 {every} 运行一次）",
                        "en": "{job} has not completed for {since} (it runs every {every})"},
    "health_outbox_given_up": {
        "zh": "最近一小时放弃发送 {count} 条消息（超过 {limit} 条）：见机器人日志中的“gave up on outbox message”",
        "en": "{count} messages were given up on in the last hour (more than {limit}): "
              "see 'gave up on outbox message' in the bot's log"},
    "health_inbox_given_up": {"zh": "最近一天放弃处理 {count} 条消息（见日志；已告知居民）",
                              "en": "{count} updates were given up on in the last day "
                                    "(see the logs; the residents were told)"},
    # --- the holiday calendar (gridbot rules check, gridbot status) ---
    "calendar_where": {"zh": "规则文件的 working_hours.holidays（{count} 个时限按工作日计算）",
                       "en": "working_hours.holidays ({count} limits count working days)"},
    "calendar_missing_now": {
        "zh": "{where}没有列出 {year} 年的法定节假日：今年按工作日计算的期限会把节假日当作工作日；请按国务院通知补上",
        "en": "{where} lists no public holidays for {year}: working-day deadlines this year count the "
              "holidays as working days; add them from the State Council's notice"},
    "calendar_missing_next": {
        "zh": "{where}没有列出 {year} 年的法定节假日，{days} 天后就到 {year} 年：国务院发布通知后请补上",
        "en": "{where} lists no public holidays for {year}, which starts in {days} days: "
              "add them when the State Council publishes its notice"},
    "calendar_year": {"zh": "{year} 年 {count} 天", "en": "{count} in {year}"},
    "calendar_none": {"zh": "无", "en": "none"},
    "calendar_users": {"zh": "{count} 个时限按工作日计算", "en": "{count} limits count working days"},
    "calendar_no_users": {"zh": "没有时限按工作日计算", "en": "no limit counts working days"},
    "calendar_summary": {"zh": "法定节假日：{years}（{users}）", "en": "public holidays: {years} ({users})"},
    "list_sep": {"zh": "，", "en": ", "},
    # --- the sweep report (gridbot sweep) ---
    "sweep_head_dry": {"zh": "{at} UTC 的巡检将会：{summary}", "en": "sweep at {at} UTC would do: {summary}"},
    "sweep_head": {"zh": "{at} UTC 的巡检已完成：{summary}", "en": "sweep at {at} UTC did: {summary}"},
    "sweep_action": {"zh": "{subject}{kind}（{detail}）{who}", "en": "{subject}{kind} ({detail}) {who}"},
    "sweep_action_plain": {"zh": "{subject}{kind} {who}", "en": "{subject}{kind} {who}"},
    "sweep_nothing": {"zh": "没有到期事项", "en": "nothing due"},
    "sweep_count": {"zh": "{kind} {count} 项", "en": "{kind}: {count}"},
    "sweep_to": {"zh": "→ 通知 {count} 人", "en": "-> {count} recipient(s)"},
    "sweep_to_nobody": {"zh": "→ 无人可通知", "en": "-> nobody to tell"},
    "sweep_kind_claim_reminder": {"zh": "认领提醒", "en": "claim reminder"},
    "sweep_kind_deadline_warning": {"zh": "期限预警", "en": "deadline warning"},
    "sweep_kind_escalated": {"zh": "升级", "en": "escalated"},
    "sweep_kind_auto_closed": {"zh": "自动办结", "en": "auto-closed"},
    "sweep_kind_unlocated_report": {"zh": "无法定位的报事", "en": "unlocated report"},
    "sweep_kind_digest": {"zh": "每日简报", "en": "digest"},
    "sweep_detail_reminder": {"zh": "第 {reminder} 次提醒", "en": "reminder {reminder}"},
    "sweep_detail_remaining": {"zh": "剩余 {remaining}", "en": "{remaining} left"},
    "sweep_detail_escalated": {"zh": "第 {level} 级，通知 {notify}", "en": "level {level}, notify {notify}"},
    "notify_grid_leader": {"zh": "网格长", "en": "the grid leader"},
    "notify_community_leader": {"zh": "社区负责人", "en": "the community leader"},
    "notify_street_supervisor": {"zh": "街道督导", "en": "the street supervisor"},
    "notify_district": {"zh": "区级负责人", "en": "the district"},
    "sweep_detail_target": {"zh": "去向 {target}", "en": "to {target}"},
    "sweep_detail_digest": {"zh": "{area}，{day}", "en": "{area}, {day}"},
}


def ops_text(key: str, lang: str, **values: object) -> str:
    """The operator text ``key`` in ``lang``."""
    return lookup(OPS_TEXTS, key, lang, **values)


def seconds_text(seconds: float, lang: str) -> str:
    """A number of seconds in words of ``lang`` (``45s``, ``2h 5m`` / ``45秒``, ``2小时5分钟``)."""
    return format_duration(timedelta(seconds=round(seconds)), lang)


def sweep_kind_words(kind: str, lang: str) -> str:
    """The words for a sweep action's kind (the kind itself if the catalogue has none)."""
    key = f"sweep_kind_{kind}"
    return ops_text(key, lang) if key in OPS_TEXTS else kind


def sweep_detail_words(kind: str, detail: dict[str, Any], lang: str) -> str:
    """The detail of a sweep action in words of ``lang``."""
    if "reminder" in detail:
        return ops_text("sweep_detail_reminder", lang, reminder=detail["reminder"])
    if "remaining_seconds" in detail:
        return ops_text("sweep_detail_remaining", lang, remaining=seconds_text(detail["remaining_seconds"], lang))
    if "level" in detail:
        notify = f"notify_{detail.get('notify')}"
        return ops_text("sweep_detail_escalated", lang, level=detail["level"],
                        notify=ops_text(notify, lang) if notify in OPS_TEXTS else detail.get("notify", ""))
    if "target" in detail:
        return ops_text("sweep_detail_target", lang, target=detail["target"])
    if "area" in detail:
        return ops_text("sweep_detail_digest", lang, area=detail["area"], day=detail.get("day", ""))
    return ", ".join(f"{k}={v}" for k, v in detail.items())
