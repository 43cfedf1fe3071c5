"""The message catalogue: every user-facing text in Chinese and English. Handlers only use keys."""

from __future__ import annotations

import string

from bot.routing_texts import ROUTING_TEXTS
from cases.i18n import LANGS, lookup

__all__ = ["CATALOGUE", "LANGS", "normalise_lang", "placeholders", "t"]

CATALOGUE: dict[str, dict[str, str]] = {
    # --- general ---
    "welcome": {
        "zh": "您好，{name}！我是网格服务助手。\n直接用文字告诉我遇到的问题（可附照片、共享位置），我会立刻生成工单并派给负责的网格员。\n/mine 查看我的工单 · /home 设置家庭住址 · /lang 切换语言 · /help 帮助",
        "en": "Hello, {name}! I am the community-grid assistant.\nTell me about a problem in plain words (a photo or a shared location helps) and I will open a ticket and send it to the grid worker in charge.\n/mine my tickets · /home set my home · /lang language · /help help",
    },
    "help_resident": {
        "zh": "怎么报事：直接发文字描述问题，最好写明小区/楼栋，或共享位置；也可以发带文字说明的照片。\n/mine 我的工单\n/cancel 编号 撤销尚未有人认领的工单\n/home 设置家庭住址（找不到地点时使用）\n/lang 切换中文/English",
        "en": "How to report: send a message describing the problem, ideally naming the estate/building or sharing your location; a photo with a caption works too.\n/mine my tickets\n/cancel NUMBER withdraw a report nobody has claimed yet\n/home remember your home place (used when no place is given)\n/lang switch 中文/English",
    },
    "help_staff": {
        "zh": "工作人员命令：\n/queue 我辖区待认领的工单\n/my 我负责的工单\n/ticket 编号 工单详情与全部记录\n/find 关键词 按内容查找辖区工单\n/overdue 超时工单\n/pause 编号 原因 · /resume 编号 暂停/恢复计时（等待居民答复时）\n/merge 编号 目标编号 [原因] 把重复工单并入另一单（负责人、督导）\n/bind 网格编号 在群里把本群绑定到网格",
        "en": "Staff commands:\n/queue open tickets in my areas\n/my tickets I hold\n/ticket NUMBER details and full history\n/find WORDS search the reports in my areas\n/overdue overdue tickets\n/pause NUMBER REASON · /resume NUMBER stop/restart the clock while waiting on the resident\n/merge NUMBER INTO [REASON] merge a duplicate into another ticket (leaders, supervisors)\n/bind GRID (in a group) bind this group to a grid",
    },
    "lang_pick": {"zh": "请选择语言 / Choose a language:", "en": "Choose a language / 请选择语言:"},
    "lang_set": {"zh": "已切换为中文。", "en": "Language set to English."},
    "unknown_command": {
        "zh": "没有这个命令。发送 /help 查看可用命令。",
        "en": "I don't know that command. Send /help to see what I can do.",
    },
    "unsupported_media": {
        "zh": "抱歉，我暂时看不懂{what}。请用文字描述问题，也可以发照片（附文字说明）或共享位置。",
        "en": "Sorry, I can't read {what} yet. Please describe the problem in words; a photo with a caption or a shared location also works.",
    },
    "voice_kept": {
        "zh": "语音已保存在工单 {number} 上，网格员可以收听。为了更快处理，请再用文字简单描述一下问题和地点。",
        "en": "Your voice note is kept on ticket {number} for the grid worker to hear. To speed things up, please also describe the problem and the place in words.",
    },
    "media_sticker": {"zh": "贴纸", "en": "stickers"},
    "media_video": {"zh": "视频", "en": "videos"},
    "media_document": {"zh": "文件", "en": "files"},
    "media_contact": {"zh": "联系人名片", "en": "contact cards"},
    "media_poll": {"zh": "投票", "en": "polls"},
    "media_other": {"zh": "这类消息", "en": "this kind of message"},
    "empty_report": {
        "zh": "请用文字描述遇到的问题（例如：5栋楼道灯坏了）。",
        "en": "Please describe the problem in words (for example: the stairway light in building 5 is broken).",
    },
    "internal_error": {
        "zh": "抱歉，处理您的消息时出了问题。消息已保存，工作人员会跟进。",
        "en": "Sorry, something went wrong while handling your message. It has been saved and staff will follow up.",
    },
    "not_allowed": {"zh": "您没有权限执行这个操作。", "en": "You are not allowed to do that."},
    "stale_button": {"zh": "这个按钮已失效（已处理过）。", "en": "This button is no longer valid (already handled)."},
    "ticket_not_found": {"zh": "找不到工单 {number}。", "en": "Ticket {number} was not found."},
    "usage": {"zh": "用法：{usage}", "en": "Usage: {usage}"},
    # --- intake ---
    "ticket_opened": {
        "zh": "已受理，工单号 {number}。\n类别：{category}\n派往：{target}\n我们承诺在 {due} 前处理。状态有变化会第一时间通知您。",
        "en": "Received: ticket {number}.\nCategory: {category}\nSent to: {target}\nWe promise to handle it by {due}. I will tell you at every status change.",
    },
    "ticket_held": {
        "zh": "已收到，工单号 {number}。由于您近一小时提交较多，本单将由负责人审核后派出，内容不会丢失。",
        "en": "Received as ticket {number}. You have sent many reports this hour, so a grid leader will review this one before it is dispatched. Nothing is lost.",
    },
    "emergency_advice": {"zh": "⚠️ 紧急提示（#{number}）：{advice}", "en": "⚠️ Emergency advice (#{number}): {advice}"},
    "category_unsure": {
        "zh": "我把它归为“{category}”。如果不对，请点选正确的类别：",
        "en": "I filed it as \"{category}\". If that is wrong, pick the right category:",
    },
    "category_changed": {
        "zh": "已改为“{category}”，派往：{target}。",
        "en": "Changed to \"{category}\", sent to: {target}.",
    },
    "ask_location": {
        "zh": "工单 {number} 已保存，但我还不知道地点。请选择所在社区：",
        "en": "Ticket {number} is saved, but I don't know where it is yet. Pick the community it is in:",
    },
    "ask_location_home": {
        "zh": "工单 {number} 已保存，但我还不知道地点。请选择所在社区，或点“{home}”：",
        "en": "Ticket {number} is saved, but I don't know where it is yet. Pick the community it is in, or press "
              "“{home}”:",
    },
    "ask_location_keyboard": {
        "zh": "也可以点输入框下方的“{button}”按钮，直接共享位置。",
        "en": "Or press “{button}” below the input box to share the location directly.",
    },
    "btn_share_location": {"zh": "📍 共享我的位置", "en": "📍 Share my location"},
    "btn_use_home": {"zh": "🏠 用我的家庭住址", "en": "🏠 Use my home"},
    "pick_grid": {"zh": "请选择具体网格：", "en": "Pick the exact grid:"},
    "location_outside": {
        "zh": "这个位置不在本区任何网格内。请再共享一次位置，或选择社区。",
        "en": "That location is outside every grid of this district. Share it again or pick your community.",
    },
    "no_home": {
        "zh": "您还没有设置家庭住址。用 /home 设置，或选择社区。",
        "en": "You have not set a home place yet. Use /home, or pick your community.",
    },
    "edited_amended": {
        "zh": "工单 {number} 的描述已更新。",
        "en": "The description of ticket {number} was updated.",
    },
    "location_pending": {
        "zh": "位置已收到。请接着用文字描述问题。",
        "en": "Location received. Now describe the problem in words.",
    },
    # --- home ---
    "home_ask": {
        "zh": "请选择您家所在的社区：",
        "en": "Pick the community you live in:",
    },
    "home_set": {"zh": "已记住您的家庭住址：{area}。", "en": "Your home place is remembered: {area}."},
    # --- resident lists ---
    "mine_empty": {"zh": "您还没有提交过工单。", "en": "You have no tickets yet."},
    "mine_header": {"zh": "您的工单：", "en": "Your tickets:"},
    "ticket_line": {"zh": "{number} [{status}] {category} · {summary}", "en": "{number} [{status}] {category} · {summary}"},
    "cancelled_by_you": {"zh": "工单 {number} 已撤销。", "en": "Ticket {number} is cancelled."},
    "cancel_refused": {
        "zh": "工单 {number} 已有人认领，不能撤销。",
        "en": "Ticket {number} has already been claimed and cannot be cancelled.",
    },
    # --- resident notifications ---
    "r_claimed": {
        "zh": "您的工单 {number} 已由网格员 {worker} 认领，正在处理。",
        "en": "Your ticket {number} was claimed by grid worker {worker} and is being handled.",
    },
    "r_note": {"zh": "工单 {number} 进展：{note}", "en": "Update on ticket {number}: {note}"},
    "r_resolved": {
        "zh": "工单 {number} 已处理完毕：{note}\n问题解决了吗？",
        "en": "Ticket {number} is marked as fixed: {note}\nIs the problem solved?",
    },
    "r_resolved_no_note": {
        "zh": "工单 {number} 已处理完毕。\n问题解决了吗？",
        "en": "Ticket {number} is marked as fixed.\nIs the problem solved?",
    },
    "btn_fixed": {"zh": "✅ 已解决", "en": "✅ Fixed"},
    "btn_not_fixed": {"zh": "❌ 没解决", "en": "❌ Not fixed"},
    "r_confirmed": {
        "zh": "感谢确认，工单 {number} 已办结。请为本次服务打分：",
        "en": "Thanks for confirming; ticket {number} is closed. Please rate the service:",
    },
    "w_confirmed": {
        "zh": "居民已确认 {number} 问题解决，工单办结。辛苦了！",
        "en": "The resident confirmed {number} is fixed; the ticket is closed. Well done!",
    },
    "w_reopened": {
        "zh": "居民反馈 {number} 问题没有解决，工单已重新打开。",
        "en": "The resident says {number} is not fixed; the ticket is reopened.",
    },
    "r_reopened": {
        "zh": "工单 {number} 已重新打开，会再派给网格员处理。",
        "en": "Ticket {number} is reopened and goes back to the grid workers.",
    },
    "r_rated": {"zh": "感谢您的评价（{stars}星）！", "en": "Thank you for your rating ({stars} stars)!"},
    "r_closed_auto": {
        "zh": "工单 {number} 处理后未收到异议，已自动办结。如问题仍在，请重新报事。",
        "en": "Ticket {number} was closed automatically as nobody objected after the fix. If the problem is back, report it again.",
    },
    "r_cancelled_staff": {
        "zh": "工单 {number} 已被工作人员撤销，原因：{reason}",
        "en": "Ticket {number} was cancelled by staff: {reason}",
    },
    "r_merged": {
        "zh": "工单 {number} 与 {into} 是同一问题，已合并，进展将通过 {into} 通知您。",
        "en": "Ticket {number} is the same problem as {into} and was merged; you will hear about {into}.",
    },
    "r_transferred": {
        "zh": "工单 {number} 已转交：{target}。",
        "en": "Ticket {number} was transferred to: {target}.",
    },
    "r_released": {
        "zh": "工单 {number} 已退回待派，会由其他网格员接手。",
        "en": "Ticket {number} went back to the queue and will be taken by another worker.",
    },
    "r_paused": {
        "zh": "工单 {number} 正在等待您的答复：{reason}。请回复工作人员。",
        "en": "Ticket {number} is waiting for your answer: {reason}. Please reply to the staff.",
    },
    "r_follow_claimed": {
        "zh": "与您的 {yours} 相同的问题（工单 {number}）已由网格员 {worker} 认领，正在处理。",
        "en": "Ticket {number}, the same problem as your {yours}, was claimed by grid worker {worker} and is being handled.",
    },
    "r_follow_note": {
        "zh": "工单 {number}（与您的 {yours} 是同一问题）进展：{note}",
        "en": "Update on ticket {number} (the same problem as your {yours}): {note}",
    },
    "r_follow_resolved": {
        "zh": "工单 {number}（与您的 {yours} 是同一问题）已处理完毕：{note}",
        "en": "Ticket {number} (the same problem as your {yours}) has been resolved: {note}",
    },
    "r_follow_resolved_no_note": {
        "zh": "工单 {number}（与您的 {yours} 是同一问题）已处理完毕。",
        "en": "Ticket {number} (the same problem as your {yours}) has been resolved.",
    },
    "r_located_default": {
        "zh": "工单 {number} 地点仍未确定，已转交街道统一调度。",
        "en": "The place of ticket {number} is still unknown, so it went to the district's general queue.",
    },
    # --- staff ---
    "joined": {"zh": "欢迎加入！您的角色：{role}，范围：{scope}。", "en": "Welcome! Your role: {role}, scope: {scope}."},
    "join_failed": {"zh": "邀请码无效：{reason}", "en": "The invite code did not work: {reason}"},
    "w_new_ticket": {
        "zh": "{headline}\n类别：{category}\n网格：{area}\n地点：{place}\n内容：{summary}\n需在 {claim_by} 前认领，{resolve_by} 前处理完毕。{duplicate}",
        "en": "{headline}\nCategory: {category}\nGrid: {area}\nPlace: {place}\nReport: {summary}\nClaim by {claim_by}, resolve by {resolve_by}.{duplicate}",
    },
    "w_headline_new": {"zh": "🆕 新工单 {number}（{priority}）", "en": "🆕 New ticket {number} ({priority})"},
    "w_headline_reopened": {
        "zh": "🔁 工单 {number} 重新打开（第 {count} 次，{priority}）：居民反馈问题没有解决",
        "en": "🔁 Ticket {number} is reopened ({count}×, {priority}): the resident says the problem is not fixed",
    },
    "w_headline_released": {
        "zh": "↩️ 工单 {number}（{priority}）被 {worker} 退回，重新待认领",
        "en": "↩️ Ticket {number} ({priority}) was handed back by {worker} and needs a new worker",
    },
    "w_headline_transferred": {
        "zh": "🔀 工单 {number}（{priority}）由 {actor} 转派而来，原因：{reason}",
        "en": "🔀 Ticket {number} ({priority}) was transferred here by {actor}: {reason}",
    },
    "venue_address_sep": {"zh": " · ", "en": ", "},
    "w_possible_duplicate": {
        "zh": "⚠️ 可能与 {number} 是同一问题（同网格同类别，{age}前报告）；是的话组长可用 /merge 合并。",
        "en": "⚠️ Possibly the same problem as {number} (same grid and category, reported {age} earlier); "
              "if so, a leader can /merge it.",
    },
    "w_claimed_by": {
        "zh": "{number} 已由 {worker} 认领。",
        "en": "{number} was claimed by {worker}.",
    },
    "w_claim_won": {
        "zh": "您已认领 {number}。处理时可以：",
        "en": "You claimed {number}. While handling it you can:",
    },
    "w_claim_lost": {
        "zh": "慢了一步：{number} 已由 {worker} 认领。谢谢！",
        "en": "Too late: {number} was already claimed by {worker}. Thank you!",
    },
    "btn_claim": {"zh": "✋ 认领", "en": "✋ Claim"},
    "btn_details": {"zh": "📄 详情", "en": "📄 Details"},
    "btn_note_public": {"zh": "💬 告知居民", "en": "💬 Note to resident"},
    "btn_note_internal": {"zh": "📝 内部备注", "en": "📝 Internal note"},
    "btn_resolve": {"zh": "✅ 处理完毕", "en": "✅ Resolve"},
    "btn_release": {"zh": "↩️ 退回", "en": "↩️ Hand back"},
    "btn_transfer": {"zh": "🔀 转派", "en": "🔀 Transfer"},
    "btn_reassign": {"zh": "👤 改派", "en": "👤 Reassign"},
    "btn_cancel_ticket": {"zh": "🗑 作废", "en": "🗑 Cancel as invalid"},
    "ask_note": {
        "zh": "请发送备注内容（发送 /skip 取消）：",
        "en": "Send the note text (/skip to cancel):",
    },
    "ask_resolve_note": {
        "zh": "请发送处理说明，可附照片（发送 /skip 不写说明，直接标记处理完毕）：",
        "en": "Send a resolution note, optionally as a photo with caption (/skip to resolve without a note):",
    },
    "ask_transfer_target": {"zh": "转派给：", "en": "Transfer to:"},
    "ask_transfer_reason": {
        "zh": "请说明转派原因：",
        "en": "Why is it transferred? Send the reason:",
    },
    "ask_reassign_worker": {"zh": "改派给哪位网格员：", "en": "Reassign to which worker:"},
    "ask_cancel_reason": {"zh": "请说明作废原因：", "en": "Send the reason for cancelling:"},
    "note_added": {"zh": "备注已添加到 {number}。", "en": "Note added to {number}."},
    "resolved_ok": {"zh": "{number} 已标记处理完毕，已请居民确认。", "en": "{number} is resolved; the resident was asked to confirm."},
    "released_ok": {"zh": "{number} 已退回网格待认领。", "en": "{number} went back to the grid's queue."},
    "transferred_ok": {"zh": "{number} 已转派给 {target}。", "en": "{number} was transferred to {target}."},
    "reassigned_ok": {"zh": "{number} 已改派给 {worker}。", "en": "{number} was reassigned to {worker}."},
    "w_assigned_to_you": {
        "zh": "{number} 已由 {actor} 指派给您。",
        "en": "{number} was assigned to you by {actor}.",
    },
    "cancelled_ok": {"zh": "{number} 已作废。", "en": "{number} is cancelled."},
    "merged_ok": {
        "zh": "{number} 已并入 {into}，其报告人会随 {into} 收到进展。",
        "en": "{number} was merged into {into}; its reporter will hear about {into}.",
    },
    "w_merged_into": {"zh": "{number} 已并入 {into}，无需处理。", "en": "{number} was merged into {into}; nothing to do."},
    "skipped": {"zh": "已取消。", "en": "Cancelled."},
    "paused_ok": {"zh": "{number} 已暂停计时。", "en": "The clock of {number} is paused."},
    "resumed_ok": {"zh": "{number} 已恢复计时。", "en": "The clock of {number} runs again."},
    "queue_empty": {"zh": "没有待认领的工单。", "en": "No open tickets waiting."},
    "queue_header": {"zh": "待认领工单：", "en": "Open tickets:"},
    "find_header": {"zh": "找到的工单（最新的在前）：", "en": "Tickets found (newest first):"},
    "find_empty": {"zh": "您的辖区里没有提到“{words}”的工单。", "en": "No ticket in your areas mentions “{words}”."},
    "my_empty": {"zh": "您手上没有工单。", "en": "You hold no tickets."},
    "my_header": {"zh": "我负责的工单：", "en": "Tickets I hold:"},
    "overdue_empty": {"zh": "辖区内没有超时工单。", "en": "Nothing is overdue in your areas."},
    "overdue_header": {"zh": "超时工单（最早的在前）：", "en": "Overdue tickets (oldest first):"},
    "overdue_line": {
        "zh": "{number} {category} · {area} · 超时 {overdue} · 级别 {level} · {holder}",
        "en": "{number} {category} · {area} · {overdue} overdue · level {level} · {holder}",
    },
    "unreachable_mark": {"zh": "（⚠️ 已屏蔽机器人，收不到消息）", "en": " (⚠️ blocked the bot, gets no messages)"},
    "nobody": {"zh": "无人认领", "en": "unclaimed"},
    "group_bound": {"zh": "本群已绑定网格：{area}。新工单会同时发到这里。", "en": "This group is bound to grid {area}. New tickets will be posted here too."},
    "group_only": {"zh": "这个命令只能在群里使用。", "en": "Use this command in a group chat."},
    "unknown_area": {"zh": "没有这个网格：{area}", "en": "There is no grid {area}"},
    "held_for_review": {
        "zh": "⚠️ 居民 {reporter} 一小时内报事过多，工单 {number} 待您审核后派出：{summary}",
        "en": "⚠️ Resident {reporter} sent many reports within an hour; ticket {number} awaits your review: {summary}",
    },
    "btn_dispatch": {"zh": "✅ 派出", "en": "✅ Dispatch"},
    "dispatched_ok": {"zh": "{number} 已派出。", "en": "{number} was dispatched."},
    "no_worker": {
        "zh": "⚠️ {target} 没有登记网格员，工单 {number} 无人接收，请尽快指派。",
        "en": "⚠️ {target} has no registered workers; ticket {number} reached nobody. Please assign it.",
    },
    # --- deadlines / escalation ---
    "n_claim_reminder": {
        "zh": "⏰ 工单 {number} 已超过认领时限（{claim_by}）仍无人认领：{summary}",
        "en": "⏰ Ticket {number} passed its claim limit ({claim_by}) and is still unclaimed: {summary}",
    },
    "n_deadline_warning": {
        "zh": "⏳ 您负责的工单 {number} 将于 {resolve_by} 到期。",
        "en": "⏳ Ticket {number} you hold is due by {resolve_by}.",
    },
    "n_escalated": {
        "zh": "🚨 超时升级（第 {level} 级）：工单 {number}\n类别：{category} · 网格：{area}\n受理至今 {age}，超时 {overdue}\n当前状态：{status} · 负责人：{holder}\n{history}",
        "en": "🚨 Escalation level {level}: ticket {number}\nCategory: {category} · Grid: {area}\nAge {age}, overdue by {overdue}\nStatus: {status} · Holder: {holder}\n{history}",
    },
    "n_unlocated": {
        "zh": "📍 工单 {number} 超过时限仍无地点，已进入区级统一调度：{summary}",
        "en": "📍 Ticket {number} still has no place and went to the district's general queue: {summary}",
    },
    "details": {
        "zh": "工单 {number} [{status}] 级别 {level}\n类别：{category}（{priority}）\n网格：{area} · 派往：{target}\n报事人：{reporter}\n负责人：{holder}\n创建：{created} · 认领时限：{claim_by} · 处理时限：{resolve_by}\n内容：{text}\n派单依据：{why}",
        "en": "Ticket {number} [{status}] level {level}\nCategory: {category} ({priority})\nGrid: {area} · Target: {target}\nReporter: {reporter}\nHolder: {holder}\nCreated: {created} · Claim by: {claim_by} · Resolve by: {resolve_by}\nReport: {text}\nRouting: {why}",
    },
    "place_and_point": {"zh": "{place}（{point}）", "en": "{place} ({point})"},
    "history_header": {"zh": "处理记录：", "en": "History:"},
    "event_opened": {"zh": "报事受理", "en": "reported"},
    "event_drafted": {"zh": "报事待定位", "en": "reported, place unknown"},
    "event_locate": {"zh": "地点已确定", "en": "place found"},
    "event_claim": {"zh": "认领", "en": "claimed"},
    "event_release": {"zh": "退回", "en": "handed back"},
    "event_transfer": {"zh": "转派", "en": "transferred"},
    "event_reassign": {"zh": "改派", "en": "reassigned"},
    "event_resolve": {"zh": "处理完毕", "en": "resolved"},
    "event_confirm": {"zh": "居民确认", "en": "confirmed by the resident"},
    "event_auto_close": {"zh": "自动办结", "en": "closed automatically"},
    "event_auto_closed": {"zh": "自动办结", "en": "closed automatically"},
    "event_verify": {"zh": "核实办结", "en": "verified and closed"},
    "event_reopen": {"zh": "重新打开", "en": "reopened"},
    "event_cancel": {"zh": "撤销", "en": "cancelled"},
    "event_merge": {"zh": "并入他单", "en": "merged into another ticket"},
    "event_merged_in": {"zh": "并入重复工单", "en": "a duplicate was merged in"},
    "event_hold_released": {"zh": "审核派出", "en": "released from review"},
    "event_note": {"zh": "备注", "en": "note"},
    "event_rated": {"zh": "居民评价", "en": "rated"},
    "event_edited": {"zh": "居民修改描述", "en": "description edited"},
    "event_recategorized": {"zh": "改类别", "en": "category changed"},
    "event_paused": {"zh": "暂停计时", "en": "clock paused"},
    "event_resumed": {"zh": "恢复计时", "en": "clock resumed"},
    "event_sent_to_district": {"zh": "转区级统一调度", "en": "sent to the district queue"},
    "event_claim_reminder": {"zh": "认领提醒", "en": "claim reminder"},
    "event_deadline_warning": {"zh": "到期预警", "en": "deadline warning"},
    "event_escalated": {"zh": "超时升级", "en": "escalated"},
    "event_priority_changed": {"zh": "调整紧急程度", "en": "priority changed"},
    "event_ids_renamed": {"zh": "规则改名后更新编号", "en": "ids updated after a rules rename"},
    "event_other": {"zh": "其他记录", "en": "other record"},
    "event_move": {"zh": "（{before}→{after}）", "en": " ({before} → {after})"},
    "event_line": {"zh": "{at} {what}{move}{note}", "en": "{at} {what}{move}{note}"},
    "event_note_suffix": {"zh": "：{note}", "en": ": {note}"},
    "status_draft": {"zh": "待定位", "en": "awaiting place"},
    "status_open": {"zh": "待认领", "en": "open"},
    "status_claimed": {"zh": "处理中", "en": "claimed"},
    "status_resolved": {"zh": "待确认", "en": "resolved"},
    "status_closed": {"zh": "已办结", "en": "closed"},
    "status_cancelled": {"zh": "已撤销", "en": "cancelled"},
    "status_merged": {"zh": "已合并", "en": "merged"},
    "priority_low": {"zh": "低", "en": "low"},
    "priority_normal": {"zh": "普通", "en": "normal"},
    "priority_urgent": {"zh": "紧急", "en": "urgent"},
    "priority_emergency": {"zh": "特急", "en": "emergency"},
    "role_worker": {"zh": "网格员", "en": "grid worker"},
    "role_leader": {"zh": "负责人", "en": "leader"},
    "role_leader_grid": {"zh": "网格长", "en": "grid leader"},
    "role_leader_community": {"zh": "社区负责人", "en": "community leader"},
    "role_leader_street": {"zh": "街道负责人", "en": "street leader"},
    "role_leader_district": {"zh": "区级负责人", "en": "district leader"},
    "role_supervisor": {"zh": "督导", "en": "supervisor"},
    "role_inspector": {"zh": "监督员（只读）", "en": "inspector (read-only)"},
    "console_link": {"zh": "工作台登录链接（10分钟内有效，仅可使用一次）：\n{url}",
                     "en": "Your console login link (valid for 10 minutes, once):\n{url}"},
    "console_private_only": {"zh": "请在与我的私聊中发送 /console，登录链接不能发到群里。",
                             "en": "Send /console to me in a private chat: a login link must not go to a group."},
    "console_not_staff": {"zh": "工作台仅供工作人员使用。", "en": "The console is for staff only."},
    "console_no_secret": {"zh": "工作台尚未配置，请联系管理员。", "en": "The console is not set up; ask the admin."},
    "digest_all_clear": {"zh": "✅ {area}：今日无超时工单。", "en": "✅ {area}: nothing overdue today."},
}

from bot.texts_refusals import REFUSALS  # noqa: E402 (refusal and guard texts live beside this file)

CATALOGUE.update(REFUSALS)
CATALOGUE.update(ROUTING_TEXTS)  # routing explanations (bot/routing_texts.py)


def t(key: str, lang: str, **values: object) -> str:
    """The text for ``key`` in ``lang`` (Chinese when the language is unknown), filled with ``values``."""
    return lookup(CATALOGUE, key, lang, **values)


def placeholders(template: str) -> set[str]:
    """The ``{name}`` fields a template uses."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def normalise_lang(code: str | None) -> str:
    """Map a Telegram ``language_code`` to one of our languages: zh for Chinese, else English."""
    if not code:
        return "zh"
    return "zh" if code.lower().startswith("zh") else "en"
