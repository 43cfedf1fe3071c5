"""Catalogue texts (zh + en) for refusals and guards: what a person reads when an action cannot be done
now, a button went stale, too many wrong invite codes, or a resident's flood is held. Merged into
:data:`bot.texts.CATALOGUE`."""

from __future__ import annotations

REFUSALS: dict[str, dict[str, str]] = {
    "action_refused": {
        "zh": "{number} 当前状态为“{status}”，不能这样操作。",
        "en": "{number} is {status} now; that cannot be done.",
    },
    "claim_gone": {
        "zh": "{number} 当前状态为“{status}”，无需认领。",
        "en": "{number} is {status} now; there is nothing to claim.",
    },
    "w_ticket_cancelled": {
        "zh": "{number} 已撤销，无需处理。",
        "en": "{number} was cancelled; nothing to do.",
    },
    "not_paused": {"zh": "{number} 没有暂停，无需恢复。", "en": "{number} is not paused; nothing to resume."},
    "already_paused": {"zh": "{number} 已经在暂停中。", "en": "{number} is already paused."},
    "edit_not_applied": {
        "zh": "工单 {number} 当前状态为“{status}”，修改后的内容没有更新到工单上。如有新情况，请重新报事。",
        "en": "Ticket {number} is {status}, so your edit was not applied. If something changed, please send a new report.",
    },
    "note_needs_text": {
        "zh": "请用文字发送内容（贴纸、文件等无法记录）。",
        "en": "Please send words (stickers, files and the like cannot be recorded).",
    },
    "input_refused": {
        "zh": "这个操作没有完成：内容不符合要求，请检查后再试。",
        "en": "That was not done: the input was not acceptable; please check it and try again.",
    },
    "join_locked": {
        "zh": "邀请码输错次数过多，请 {minutes} 分钟后再试。",
        "en": "Too many wrong invite codes; please try again in {minutes} minutes.",
    },
    "join_unknown": {"zh": "没有这个邀请码，请检查是否输错，或索取新的邀请码", "en": "this code is not known; check it for typos or ask for a new one"},
    "join_used": {"zh": "这个邀请码已被使用，请索取新的邀请码", "en": "this code has already been used; ask for a new one"},
    "join_expired": {"zh": "这个邀请码已过期，请索取新的邀请码", "en": "this code has expired; ask for a new one"},
    "n_join_locked": {
        "zh": "⚠️ 有人连续 {attempts} 次输错邀请码（{who}），已锁定 {minutes} 分钟。",
        "en": "⚠️ Someone entered {attempts} wrong invite codes in a row ({who}); locked out for {minutes} minutes.",
    },
    "held_for_review_many": {
        "zh": "⚠️ 居民 {reporter} 一小时内报事过多，已暂扣 {count} 张工单待您审核：{numbers}\n最新一条 {number}：{summary}\n发送 /ticket 编号 查看，可派出或撤销。",
        "en": "⚠️ Resident {reporter} sent too many reports within an hour; {count} tickets are held for your review: {numbers}\nLatest {number}: {summary}\nSend /ticket NUMBER to see one and dispatch or cancel it.",
    },
}
