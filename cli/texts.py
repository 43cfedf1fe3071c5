"""The words of the command line's output meant for people, in Chinese and English (``--lang``,
``GRIDBOT_LANG``, the locale: :func:`cli.common.lang`). Machine output (``--json``, exports) keeps its keys."""

from __future__ import annotations

from datetime import timedelta

from cases.durations import format_duration
from cases.i18n import lookup

CLI_TEXTS: dict[str, dict[str, str]] = {
    # --- said once on stderr: which file and database are used ---
    "using_rules": {"zh": "规则文件：{value}（{origin}）", "en": "rules: {value} ({origin})"},
    "using_database": {"zh": "数据库：{value}（{origin}）", "en": "database: {value} ({origin})"},
    "origin_command_line": {"zh": "命令行", "en": "the command line"},
    "origin_option": {"zh": "命令行选项 {option}", "en": "{option}"},
    "origin_variable": {"zh": "环境变量 {variable}", "en": "{variable}"},
    "origin_env_file": {"zh": "{path} 中的 {variable}", "en": "{variable} in {path}"},
    "origin_current_folder": {"zh": "当前文件夹", "en": "the current folder"},
    "origin_bundled": {"zh": "Gridbot 自带的示例：用 GRIDBOT_RULES 或 --rules 指定您自己的规则文件",
                       "en": "the sample bundled with Gridbot: set GRIDBOT_RULES or --rules to use your own"},
    "origin_default": {"zh": "默认值", "en": "default"},
    # --- one-line errors (gridbot: …) ---
    "rules_not_found": {"zh": "找不到规则文件：{path}（来自{origin}）；"
                               "请设置 GRIDBOT_RULES（环境变量或 .env）或使用 --rules 文件",
                        "en": "rules file not found: {path} (from {origin}); set GRIDBOT_RULES (environment or .env) "
                              "or pass --rules FILE"},
    "url_malformed": {"zh": "数据库地址 {url} 格式不对；请写成 sqlite:///gridbot.db 或 postgresql://用户@主机/库名",
                      "en": "the database URL {url} is malformed; write e.g. sqlite:///gridbot.db or "
                            "postgresql://user@host/dbname"},
    "url_unsupported": {"zh": "{url} 中的数据库 {backend} 不受支持：Gridbot 只支持 SQLite（sqlite:///文件）和 PostgreSQL（postgresql://…）",
                        "en": "unsupported database {backend} in {url}: Gridbot works with SQLite (sqlite:///FILE) "
                              "and PostgreSQL (postgresql://…)"},
    "err_setting": {"zh": "设置 {variable} 无效：{reason}", "en": "the setting {variable} is invalid: {reason}"},
    "err_dialect": {"zh": "不支持的数据库（{reason}）：请使用 sqlite:///文件 或 postgresql://…",
                    "en": "unsupported database ({reason}): use sqlite:///FILE or postgresql://…"},
    "err_url": {"zh": "数据库地址格式不对：{reason}", "en": "the database URL is malformed: {reason}"},
    "err_unreachable": {"zh": "无法连接数据库 {database}：{reason}",
                        "en": "cannot reach the database {database}: {reason}"},
    "err_permission": {"zh": "没有权限：{path}", "en": "permission denied: {path}"},
    "err_not_a_folder": {"zh": "{path}：路径中有一部分是文件，不是文件夹",
                         "en": "{path}: a part of this path is a file, not a folder"},
    "err_no_such_file": {"zh": "没有这个文件或文件夹：{path}", "en": "no such file or folder: {path}"},
    "err_no_such_folder": {"zh": "（文件夹 {folder} 不存在）", "en": " (the folder {folder} does not exist)"},
    "err_is_folder": {"zh": "{path} 是文件夹，不是文件", "en": "{path} is a folder, not a file"},
    "err_os": {"zh": "{path}：{reason}", "en": "{path}: {reason}"},
    "err_file_system": {"zh": "文件系统", "en": "file system"},
    "err_internal": {"zh": "意外错误：{kind}: {reason}（设置 GRIDBOT_DEBUG=1 可查看出错位置）",
                     "en": "unexpected error: {kind}: {reason} (set GRIDBOT_DEBUG=1 to see where)"},
    "err_see_database_setting": {"zh": "（见 GRIDBOT_DATABASE_URL）", "en": "(see GRIDBOT_DATABASE_URL)"},
    # --- opening the database and the rules ---
    "upgrade_hint": {"zh": "如果这就是要用的数据库，请运行 `gridbot db upgrade`"
                           "（使用同样的 --database / GRIDBOT_DATABASE_URL）",
                     "en": "run `gridbot db upgrade` (with the same --database / GRIDBOT_DATABASE_URL) if it is the "
                           "right one"},
    "db_cannot_create": {"zh": "无法创建数据库 {path}：文件夹 {folder} 不存在",
                         "en": "cannot create the database {path}: "
                                                                            "the folder {folder} does not exist"},
    "db_cannot_create_file": {"zh": "（其中一部分是文件）", "en": " (a part of it is a file)"},
    "db_missing": {"zh": "{path} 没有数据库（{url}）；{hint}", "en": "no database at {path} ({url}); {hint}"},
    "db_no_schema": {"zh": "数据库 {url} 没有 Gridbot 的表结构；{hint}",
                     "en": "the database {url} has no Gridbot schema; {hint}"},
    "db_behind": {"zh": "数据库 {url} 处于迁移版本 {current}，落后于本 Gridbot 的 {heads}；{hint}",
                  "en": "the database {url} is at migration {current}, behind this Gridbot's {heads}; {hint}"},
    "db_newer": {"zh": "数据库 {url} 处于本 Gridbot 不认识的迁移版本 {current}：它已被更新的版本升级过；请运行那个版本",
                 "en": "the database {url} is at migration {current}, which this Gridbot does not know: it was "
                       "upgraded by a newer version; run that version"},
    "rules_have_errors": {"zh": "规则文件 {path} 有错误；请改正（见 `gridbot rules check`）",
                          "en": "the rules file {path} has errors; fix them (see `gridbot rules check`)"},
    # --- gridbot db ---
    "db_up_to_date": {"zh": "{url}：表结构已是最新", "en": "{url}: schema is up to date"},
    "db_figures_rebuilt": {"zh": "{url}：已按时区 {zone} 重算每日统计（{rows} 行）",
                           "en": "{url}: day figures rebuilt for time zone {zone} ({rows} rows)"},
    "db_pruned": {"zh": "已删除 {inbox} 条收件和 {outbox} 条发件记录（早于 {days} 天）",
                  "en": "deleted {inbox} inbox updates and {outbox} outbox messages older than {days} days"},
    "db_would_prune": {"zh": "将删除 {inbox} 条收件和 {outbox} 条发件记录（早于 {days} 天）",
                       "en": "would delete {inbox} inbox updates and {outbox} outbox messages older than {days} days"},
    "backup_not_sqlite": {"zh": "{url} 不是 SQLite 文件；PostgreSQL 请用 pg_dump 备份",
                          "en": "{url} is not a SQLite file; back PostgreSQL up with pg_dump"},
    "backup_no_database": {"zh": "{path} 没有数据库", "en": "no database at {path}"},
    "backup_exists": {"zh": "{path} 已存在；要覆盖请加 --force", "en": "{path} exists; pass --force to overwrite it"},
    "backup_bad_copy": {"zh": "副本未通过完整性检查：{verdict}",
                        "en": "the copy failed its integrity check: {verdict}"},
    "backup_done": {"zh": "已把 {source} 备份到 {target}（{size} 字节，{tickets} 个工单）",
                    "en": "backed up {source} to {target} ({size} bytes, {tickets} tickets)"},
    # --- gridbot invite ---
    "invite_bad_expires": {"zh": "--expires：{reason}", "en": "--expires: {reason}"},
    "invite_bad_expires_reason": {"zh": "{text} 不是时长；请写数字加单位：30s、15m、2h 或 3d",
                                  "en": "{text} is not a duration; write a number and a unit: 30s, 15m, 2h or 3d"},
    "invite_refused": {"zh": "错误：{reason}", "en": "error: {reason}"},
    "invite_made": {"zh": "一次性邀请码：{where}（{area}）的{role}，有效期至 {until}。",
                    "en": "One-time invite: {role} of {where} ({area}), valid until {until}."},
    "invite_how": {"zh": "对方在与机器人的私聊中发送这条即可接受：  /join {code}",
                   "en": "To accept it, send this to the bot in a private chat:  /join {code}"},
    # --- gridbot status ---
    "status_database": {"zh": "数据库：  {value}", "en": "database: {value}"},
    "status_leader": {"zh": "主控进程：{value}", "en": "leader:   {value}"},
    "status_no_leader": {"zh": "暂无", "en": "none yet"},
    "status_lease_left": {"zh": "{leader}（租约已续，剩 {left}）", "en": "{leader} (lease renewed, {left} left)"},
    "status_lease_out": {"zh": "{leader}（租约已于 {ago} 前过期）", "en": "{leader} (lease ran out {ago} ago)"},
    "status_inbox": {"zh": "收件：    {waiting} 条等待（最早 {oldest}），最近一天放弃 {given_up} 条",
                     "en": "inbox:    {waiting} waiting (oldest {oldest}), {given_up} given up in the last day"},
    "status_outbox": {"zh": "发件：    {waiting} 条等待（最早到期 {oldest}），"
                            "最近一天失败 {failed} 条（最近一小时 {hour} 条）；"
                            "{blocked} 人屏蔽了机器人",
                      "en": "outbox:   {waiting} waiting (oldest due {oldest}), {failed} failed in the last day "
                            "({hour} in the last hour); {blocked} people blocked the bot"},
    "status_tickets": {"zh": "工单：    {open} 个未结，{overdue} 个超时，{held} 个待审核",
                       "en": "tickets:  {open} open, {overdue} overdue, {held} held for review"},
    "status_job": {"zh": "定时任务 {job}：上次成功在 {ok} 前，每 {every} 运行一次；"
                         "共运行 {runs} 次，失败 {failures} 次",
                   "en": "job {job}: last ok {ok} ago, runs every {every}; {runs} runs, {failures} failed"},
    "status_job_failed": {"zh": "；上次运行失败：{error}", "en": "; last run FAILED: {error}"},
    "status_warning": {"zh": "注意：{text}", "en": "WARNING: {text}"},
    "status_problem": {"zh": "问题：{text}", "en": "PROBLEM: {text}"},
    "status_all_well": {"zh": "一切正常", "en": "all well"},
    "status_rules_missing": {"zh": "规则文件 {path} 不存在：机器人将无法再次启动；请设置 GRIDBOT_RULES 或 --rules",
                             "en": "the rules file {path} is not there: the bot will not start again; set "
                                   "GRIDBOT_RULES or --rules"},
    "status_rules_broken": {"zh": "规则文件 {path} 无法加载（{count} 处错误）：改正之前机器人将无法再次启动；"
                                  "请运行 gridbot rules check",
                            "en": "the rules file {path} does not load ({count} {errors}): the bot will not start "
                                  "again until it is fixed; run gridbot rules check"},
    "status_rules_unreadable": {"zh": "无法读取规则文件 {path}：{reason}",
                                "en": "the rules file {path} cannot be read: {reason}"},
    # --- gridbot rules check ---
    "errors_in": {"zh": "{path} 中有 {count} 处错误", "en": "{count} {errors} in {path}"},
    "error_one": {"zh": "错误", "en": "error"},
    "error_many": {"zh": "错误", "en": "errors"},
    "rules_ok": {"zh": "{path}：没有问题", "en": "{path}: OK"},
    "rules_warning": {"zh": "注意：{text}", "en": "warning: {text}"},
    "rules_rename_note": {"zh": "提示：{text}（运行 gridbot rules apply-renames，或在机器人启动时自动完成）",
                          "en": "note: {text} (gridbot rules apply-renames, or at the bot's start)"},
    "rules_db_unreadable": {"zh": "无法读取数据库来检查其中使用的编号：{kind}",
                            "en": "cannot read the database to check the ids it uses: {kind}"},
    "summary_areas": {"zh": "区域：区 {district} 个，街道 {street} 个，社区 {community} 个，网格 {grid} 个"
                            "（{bounded} 个有边界，地名 {places} 个）",
                      "en": "areas: {district} district, {street} streets, {community} communities, {grid} grids "
                            "({bounded} with a boundary, {places} place names)"},
    "summary_categories": {"zh": "类别：{count} 个（关键词 {keywords} 个）",
                           "en": "categories: {count} ({keywords} keywords)"},
    "summary_teams": {"zh": "专业队伍：{count} 个", "en": "teams: {count}"},
    "summary_routes": {"zh": "派单规则：{count} 条", "en": "routes: {count}"},
    "summary_zone": {"zh": "时区：{zone}", "en": "time zone: {zone}"},
    "summary_digest": {"zh": "每日简报：每天 {at} 发给 {to}", "en": "digest: daily at {at} to {to}"},
    "summary_nobody": {"zh": "无人", "en": "nobody"},
    # --- gridbot tickets list / show / export ---
    "tickets_none": {"zh": "没有符合条件的工单", "en": "no tickets match"},
    "tickets_columns": {"zh": "编号|状态|类别|优先级|去向|受理时间|负责人",
                        "en": "number|status|category|priority|target|created|holder"},
    "tickets_count": {"zh": "共 {count} 个工单", "en": "{count} {tickets}"},
    "ticket_one": {"zh": "工单", "en": "ticket"},
    "ticket_many": {"zh": "工单", "en": "tickets"},
    "name_with_id": {"zh": "{name}（{id}）", "en": "{name} ({id})"},
    "no_place": {"zh": "（无地点）", "en": "(no place)"},
    "place_unknown": {"zh": "（地点未知）", "en": "(place unknown)"},
    "ticket_head": {"zh": "工单 {number} — {status}", "en": "Ticket {number} — {status}"},
    "ticket_rows": {"zh": "类别|去向|区域|报事人|负责人|受理|认领期限|办结期限|升级|重新打开|评价|内容|并入",
                    "en": "category|target|area|reporter|holder|created|claim by|resolve by|escalation|reopened|"
                          "rating|text|merged into"},
    "ticket_category": {"zh": "{category}（{id}），优先级：{priority}", "en": "{category} ({id}), priority {priority}"},
    "ticket_history": {"zh": "处理记录：", "en": "History:"},
    "ticket_event": {"zh": "{at}  {what}{move}，经办：{who}{internal}{note}",
                     "en": "{at}  {what}{move} by {who}{internal}{note}"},
    "ticket_system": {"zh": "系统", "en": "system"},
    "ticket_internal": {"zh": "【内部】", "en": " [internal]"},
    "ticket_note": {"zh": "：{note}", "en": ": {note}"},
    "user_label": {"zh": "用户 {id}", "en": "user {id}"},
    "export_wrote": {"zh": "已把 {count} 个工单写入 {path}", "en": "wrote {count} {tickets} to {path}"},
    "export_xlsx_needs_file": {"zh": "XLSX 工作簿只能写入文件：请加 --output tickets.xlsx",
                               "en": "an XLSX workbook is written to a file: add --output tickets.xlsx"},
    # --- gridbot seed ---
    "seed_not_empty": {"zh": "{url} 已有 {count} 个工单；`gridbot seed` 只填充空数据库",
                       "en": "{url} already has {count} tickets; seed only fills an empty database"},
    "seed_done": {"zh": "已填充 {url}：{days} 天内 {count} 个工单（{states}）；{people} 人；巡检运行了 {sweeps} 次",
                  "en": "seeded {url}: {count} tickets over {days} days ({states}); {people} people; the sweep ran "
                        "{sweeps} times"},
    "seed_state": {"zh": "{status} {count} 个", "en": "{status} {count}"},
    # --- gridbot digest / sweep ---
    "digest_unknown_area": {"zh": "没有区域 {area}；现有区域：{areas}", "en": "unknown area {area}; areas: {areas}"},
    "digest_png_terminal": {"zh": "终端里无法显示 PNG 图片；请用 --output 文件",
                            "en": "a PNG cannot be shown in a terminal; "
                                                                          "use --output FILE"},
    "sweep_needs_token": {"zh": "请设置 GRIDBOT_TOKEN（消息带有签名按钮），或使用 --dry-run",
                          "en": "set GRIDBOT_TOKEN (messages carry signed buttons), or use --dry-run"},
}


def t(key: str, lang: str, **values: object) -> str:
    """The command-line text ``key`` in ``lang``."""
    return lookup(CLI_TEXTS, key, lang, **values)


def plural_errors(count: int, lang: str) -> str:
    """"error" or "errors" (Chinese has one word)."""
    return t("error_one" if count == 1 else "error_many", lang)


def plural_tickets(count: int, lang: str) -> str:
    """"ticket" or "tickets" (Chinese has one word)."""
    return t("ticket_one" if count == 1 else "ticket_many", lang)


def seconds(value: float, lang: str) -> str:
    """A number of seconds as a duration in words of ``lang``."""
    return format_duration(timedelta(seconds=round(value)), lang)
