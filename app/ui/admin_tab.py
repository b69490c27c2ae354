"""The Admin tab: users, prompts and persona, models, jobs and memory, metrics, logs, backups.

Closed unless IKAR_ADMIN_TOKEN is set (then it only explains how to enable it). Every
callback first runs the one admin check, `verify_admin_request`, on the typed token; the
decisions are in `services.admin` (`AdminService`), this module only translates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from app.composition import Services
from app.i18n import MESSAGES, normalize_lang, t
from app.security.admin_gate import client_key, verify_admin_request
from app.security.errors import SecurityError
from app.ui.errors import warn
from app.ui.labels import Labels
from app.ui.uploads import uploaded_path
from config.errors import IkarError

LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]
# Fields shown in each table; headers are `admin.col.<field>` in the user's language.
USER_COLUMNS = ["id", "name", "conversations", "messages", "souls", "memories", "has_password"]
MODEL_COLUMNS = ["name", "label", "state", "active", "configured_default", "detail"]
JOB_COLUMNS = ["id", "kind", "state", "progress", "description", "wait_s", "run_s", "error"]
LOG_COLUMNS = ["timestamp", "level", "logger", "request_id", "message"]

Action = Callable[[str], Sequence[Any]]


class AdminTab:
    """Builds the tab and owns its callbacks; all decisions are in `services.admin`."""

    title_key = "tab.admin"
    tab_id = "admin"

    def __init__(self, services: Services, labels: Labels, session: gr.BrowserState) -> None:
        self.services = services
        self.labels = labels
        self.session = session
        self.lang = services.settings.language

    # -- layout ------------------------------------------------------------------------
    def build(self) -> None:
        lb = self.labels
        enabled = self.services.admin_gate.enabled
        notice_key = "admin.hint" if enabled else "admin.disabled_notice"
        self.notice = lb.add(
            gr.Markdown(t(notice_key, self.lang), elem_id="admin-notice"), value=notice_key
        )
        with gr.Column(visible=enabled, elem_id="admin-panel"):
            with gr.Row(equal_height=True):
                self.token = lb.add(
                    gr.Textbox(type="password", max_lines=1, scale=4, elem_id="admin-token"),
                    label="admin.token",
                    placeholder="admin.token_placeholder",
                )
                self.open_btn = lb.add(
                    gr.Button(variant="primary", scale=1, elem_id="admin-open"),
                    value="admin.open",
                )
            self.status = gr.Markdown(elem_id="admin-status")
            with gr.Tabs():
                self._build_users()
                self._build_prompts()
                self._build_models()
                self._build_jobs()
                self._build_metrics()
                self._build_logs()
                self._build_backup()
                self._build_config()
        self._wire()

    def _section(self, key: str) -> gr.Tab:
        tab: gr.Tab = self.labels.add(gr.Tab(t(key, self.lang)), label=key)
        return tab

    def _button(self, key: str, elem_id: str, variant: str = "secondary") -> gr.Button:
        button: gr.Button = self.labels.add(
            gr.Button(t(key, self.lang), variant=variant, size="sm", elem_id=elem_id),  # type: ignore[arg-type]
            value=key,
        )
        return button

    def _build_users(self) -> None:
        lb = self.labels
        with self._section("admin.section.users"):
            self.users_btn = self._button("admin.refresh", "admin-users-refresh")
            self.users_df = gr.Dataframe(
                headers=headers(USER_COLUMNS, self.lang),
                interactive=False,
                elem_id="admin-users",
                wrap=True,
            )
            with gr.Row(equal_height=True):
                self.user_id = lb.add(
                    gr.Textbox(max_lines=1, elem_id="admin-user-id"), label="admin.user_id"
                )
                self.delete_confirm = lb.add(gr.Checkbox(value=False), label="admin.confirm_delete")
            with gr.Row():
                self.export_btn = self._button("admin.export_user", "admin-export")
                self.delete_btn = self._button("admin.delete_user", "admin-delete", "stop")
            # A one-time link, never a gr.File (gradio would keep a served copy).
            self.export_file = gr.Markdown(elem_id="admin-export-link")

    def _build_prompts(self) -> None:
        lb = self.labels
        with self._section("admin.section.prompts"):
            with gr.Row(equal_height=True):
                self.prompt_name = lb.add(
                    gr.Dropdown(choices=[], interactive=True, elem_id="admin-prompt-name"),
                    label="admin.template",
                )
                self.prompt_save_btn = self._button("admin.save", "admin-prompt-save", "primary")
            self.prompt_text = lb.add(
                gr.Code(language="jinja2", lines=16, interactive=True, elem_id="admin-prompt"),
                label="admin.template_text",
            )
            with gr.Row(equal_height=True):
                self.persona = lb.add(
                    gr.Dropdown(choices=[], interactive=True, elem_id="admin-persona"),
                    label="admin.default_persona",
                )
                self.persona_btn = self._button("admin.set_default", "admin-persona-set")
            self.persona_md = gr.Markdown()

    def _build_models(self) -> None:
        lb = self.labels
        with self._section("admin.section.models"):
            self.models_df = gr.Dataframe(
                headers=headers(MODEL_COLUMNS, self.lang),
                interactive=False,
                elem_id="admin-models",
                wrap=True,
            )
            with gr.Row(equal_height=True):
                self.model_name = lb.add(
                    gr.Dropdown(choices=[], interactive=True, elem_id="admin-model-name"),
                    label="admin.model",
                )
                self.model_load_btn = self._button("admin.load", "admin-model-load")
                self.model_unload_btn = self._button("admin.unload", "admin-model-unload")
                self.model_default_btn = self._button("admin.set_default", "admin-model-default")

    def _build_jobs(self) -> None:
        lb = self.labels
        with self._section("admin.section.jobs"):
            self.jobs_btn = self._button("admin.refresh", "admin-jobs-refresh")
            self.jobs_md = gr.Markdown()
            self.jobs_df = gr.Dataframe(
                headers=headers(JOB_COLUMNS, self.lang), interactive=False, wrap=True
            )
            with gr.Row(equal_height=True):
                self.job_id = lb.add(gr.Textbox(max_lines=1), label="admin.job_id")
                self.cancel_job_btn = self._button("admin.cancel_job", "admin-cancel-job", "stop")
            with gr.Row(equal_height=True):
                self.consolidation_user = lb.add(
                    gr.Textbox(max_lines=1), label="admin.consolidation_user"
                )
                self.consolidate_btn = self._button("admin.consolidate", "admin-consolidate")
                self.consolidate_cancel_btn = self._button(
                    "admin.consolidate_cancel", "admin-consolidate-cancel"
                )
            self.consolidation_json = lb.add(gr.JSON(), label="admin.consolidation")

    def _build_metrics(self) -> None:
        lb = self.labels
        with self._section("admin.section.metrics"):
            self.metrics_btn = self._button("admin.refresh", "admin-metrics-refresh")
            with gr.Row():
                self.outcomes_plot = lb.add(
                    gr.BarPlot(x="outcome", y="count", elem_id="admin-outcomes"),
                    label="admin.llm_outcomes",
                )
                self.latency_plot = lb.add(
                    gr.BarPlot(x="metric", y="seconds", x_label_angle=-30, elem_id="admin-latency"),
                    label="admin.latency",
                )
            self.metrics_json = lb.add(gr.JSON(), label="admin.metrics_summary")

    def _build_logs(self) -> None:
        lb = self.labels
        with self._section("admin.section.logs"):
            with gr.Row(equal_height=True):
                self.log_level = lb.add(
                    gr.Dropdown(choices=LOG_LEVELS, value="INFO"), label="admin.log_level"
                )
                self.log_logger = lb.add(gr.Textbox(max_lines=1), label="admin.log_logger")
                self.log_text = lb.add(gr.Textbox(max_lines=1), label="admin.log_text")
                self.log_request = lb.add(gr.Textbox(max_lines=1), label="admin.log_request")
                self.log_limit = lb.add(
                    gr.Number(value=200, minimum=1, maximum=2000, precision=0),
                    label="admin.log_limit",
                )
            self.logs_btn = self._button("admin.refresh", "admin-logs-refresh")
            self.logs_df = gr.Dataframe(
                headers=headers(LOG_COLUMNS, self.lang),
                interactive=False,
                wrap=True,
                column_widths=["17%", "8%", "15%", "12%", "48%"],
                elem_id="admin-logs",
            )

    def _build_backup(self) -> None:
        lb = self.labels
        with self._section("admin.section.backup"):
            self.backup_btn = self._button("admin.backup", "admin-backup", "primary")
            self.backup_file = gr.Markdown(elem_id="admin-backup-link")
            self.restore_upload = lb.add(
                gr.File(file_types=[".sqlite3", ".sqlite", ".db"], type="filepath"),
                label="admin.restore_file",
            )
            self.restore_confirm = lb.add(gr.Checkbox(value=False), label="admin.confirm_restore")
            self.restore_btn = self._button("admin.restore", "admin-restore", "stop")

    def _build_config(self) -> None:
        with self._section("admin.section.config"):
            self.config_btn = self._button("admin.refresh", "admin-config-refresh")
            self.config_json = gr.JSON(elem_id="admin-config")

    def _wire(self) -> None:
        base = [self.token, self.session]

        def on(button: Any, fn: Callable[..., Any], extra: list[Any], outputs: list[Any]) -> None:
            button.click(fn, [*base, *extra], [self.status, *outputs], api_visibility="private")

        on(
            self.open_btn,
            self.on_open,
            [],
            [
                self.users_df,
                self.prompt_name,
                self.persona,
                self.persona_md,
                self.models_df,
                self.model_name,
            ],
        )
        self.token.submit(
            self.on_open,
            base,
            [
                self.status,
                self.users_df,
                self.prompt_name,
                self.persona,
                self.persona_md,
                self.models_df,
                self.model_name,
            ],
            api_visibility="private",
        )
        on(self.users_btn, self.on_users, [], [self.users_df])
        on(self.export_btn, self.on_export, [self.user_id], [self.export_file])
        on(
            self.delete_btn,
            self.on_delete,
            [self.user_id, self.delete_confirm],
            [self.users_df, self.delete_confirm],
        )
        self.prompt_name.input(
            self.on_prompt_select,
            [*base, self.prompt_name],
            [self.status, self.prompt_text],
            api_visibility="private",
        )
        on(self.prompt_save_btn, self.on_prompt_save, [self.prompt_name, self.prompt_text], [])
        on(self.persona_btn, self.on_persona_set, [self.persona], [self.persona_md])
        for button, action in (
            (self.model_load_btn, "load"),
            (self.model_unload_btn, "unload"),
            (self.model_default_btn, "default"),
        ):
            on(button, self._model_action(action), [self.model_name], [self.models_df])
        on(self.jobs_btn, self.on_jobs, [], [self.jobs_md, self.jobs_df, self.consolidation_json])
        on(self.cancel_job_btn, self.on_cancel_job, [self.job_id], [self.jobs_df])
        on(
            self.consolidate_btn,
            self._consolidation("start"),
            [self.consolidation_user],
            [self.consolidation_json],
        )
        on(
            self.consolidate_cancel_btn,
            self._consolidation("cancel"),
            [self.consolidation_user],
            [self.consolidation_json],
        )
        on(
            self.metrics_btn,
            self.on_metrics,
            [],
            [self.outcomes_plot, self.latency_plot, self.metrics_json],
        )
        on(
            self.logs_btn,
            self.on_logs,
            [self.log_level, self.log_logger, self.log_text, self.log_request, self.log_limit],
            [self.logs_df],
        )
        on(self.backup_btn, self.on_backup, [], [self.backup_file])
        on(
            self.restore_btn,
            self.on_restore,
            [self.restore_upload, self.restore_confirm],
            [self.restore_confirm],
        )
        on(self.config_btn, self.on_config, [], [self.config_json])

    # -- the one guard -----------------------------------------------------------------
    def _lang(self, session: dict[str, Any] | None) -> str:
        return normalize_lang((session or {}).get("lang"), normalize_lang(self.lang))

    def refusal(self, token: str | None, request: gr.Request | None, lang: str) -> str | None:
        """None if the admin check passes, else the message to show (never the token)."""
        try:
            verify_admin_request(self.services.admin_gate, request, (token or "").strip() or None)
        except SecurityError as exc:
            return t(f"admin.denied.{exc.code}", lang)
        return None

    async def guarded(
        self,
        token: str | None,
        session: dict[str, Any] | None,
        request: gr.Request | None,
        n_outputs: int,
        action: Action,
    ) -> tuple[Any, ...]:
        """Check the token, run `action(lang)` off the loop; it returns (status, *outputs)."""
        lang = self._lang(session)
        denied = self.refusal(token, request, lang)
        if denied is not None:
            gr.Warning(denied)
            return (f"✕ {denied}", *[gr.skip()] * n_outputs)
        try:
            values = tuple(await asyncio.to_thread(action, lang))
        except IkarError as exc:
            return (f"⚠ {warn(exc, lang)}", *[gr.skip()] * n_outputs)
        return values

    # -- callbacks ---------------------------------------------------------------------
    def load_outputs(self) -> list[Any]:
        return []

    async def on_load(self, session: dict[str, Any]) -> list[Any]:
        return []

    async def on_open(
        self, token: str, session: dict[str, Any] | None, request: gr.Request
    ) -> tuple[Any, ...]:
        def action(lang: str) -> Sequence[Any]:
            admin = self.services.admin
            prompts = [p.name for p in admin.list_prompts()]
            personas = admin.persona_defaults()
            models = admin.list_models()
            return (
                f"✓ {t('admin.signed_in', lang)}",
                self.users_frame(lang),
                gr.update(choices=prompts, value=None),
                gr.update(
                    choices=[(p["name"], p["id"]) for p in personas.personas],
                    value=personas.default_persona,
                ),
                self.persona_text(lang),
                self.models_frame(lang),
                gr.update(choices=[m.name for m in models], value=self.services.models.active_name),
            )

        return await self.guarded(token, session, request, 6, action)

    async def on_users(
        self, token: str, session: dict[str, Any] | None, request: gr.Request
    ) -> tuple[Any, ...]:
        return await self.guarded(
            token, session, request, 1, lambda lang: (t("admin.done", lang), self.users_frame(lang))
        )

    async def on_export(
        self, token: str, session: dict[str, Any] | None, user_id: str, request: gr.Request
    ) -> tuple[Any, ...]:
        def action(lang: str) -> Sequence[Any]:
            admin = self.services.admin
            path = admin.write_export((user_id or "").strip())
            link = download_link(path, admin.offer(path, "application/json", client(request)))
            return f"{t('admin.exported', lang)}: {link}", link

        return await self.guarded(token, session, request, 1, action)

    async def on_delete(
        self,
        token: str,
        session: dict[str, Any] | None,
        user_id: str,
        confirm: bool,
        request: gr.Request,
    ) -> tuple[Any, ...]:
        def action(lang: str) -> Sequence[Any]:
            if not confirm:
                return t("admin.confirm_first", lang), gr.skip(), gr.skip()
            counts = self.services.admin.delete_user((user_id or "").strip())
            summary = ", ".join(f"{k}: {v}" for k, v in counts.items())
            return f"{t('admin.deleted', lang)} ({summary})", self.users_frame(lang), False

        return await self.guarded(token, session, request, 2, action)

    async def on_prompt_select(
        self, token: str, session: dict[str, Any] | None, name: str | None, request: gr.Request
    ) -> tuple[Any, ...]:
        def action(lang: str) -> Sequence[Any]:
            if not name:
                return "", ""
            return "", self.services.admin.read_prompt(name).text

        return await self.guarded(token, session, request, 1, action)

    async def on_prompt_save(
        self,
        token: str,
        session: dict[str, Any] | None,
        name: str | None,
        text: str | None,
        request: gr.Request,
    ) -> tuple[Any, ...]:
        def action(lang: str) -> Sequence[Any]:
            saved = self.services.admin.save_prompt(name or "", text or "")
            return (f"✓ {t('admin.saved', lang)}: {saved.name}",)

        return await self.guarded(token, session, request, 0, action)

    async def on_persona_set(
        self, token: str, session: dict[str, Any] | None, persona: str | None, request: gr.Request
    ) -> tuple[Any, ...]:
        def action(lang: str) -> Sequence[Any]:
            self.services.admin.set_default_persona(persona or "")
            return f"✓ {t('admin.saved', lang)}", self.persona_text(lang)

        return await self.guarded(token, session, request, 1, action)

    def _model_action(self, what: str) -> Callable[..., Any]:
        async def handler(
            token: str, session: dict[str, Any] | None, name: str | None, request: gr.Request
        ) -> tuple[Any, ...]:
            def action(lang: str) -> Sequence[Any]:
                admin = self.services.admin
                run = {
                    "load": admin.load_model,
                    "unload": admin.unload_model,
                    "default": admin.set_default_model,
                }[what]
                info = run(name or "")
                return f"✓ {info.name}: {info.state}", self.models_frame(lang)

            return await self.guarded(token, session, request, 1, action)

        return handler

    async def on_jobs(
        self, token: str, session: dict[str, Any] | None, request: gr.Request
    ) -> tuple[Any, ...]:
        def action(lang: str) -> Sequence[Any]:
            admin = self.services.admin
            if admin.media is None:
                jobs_md, frame = t("admin.error.media_unavailable", lang), gr.skip()
            else:
                data = admin.queues()
                stats = data["stats"]
                jobs_md = "\n".join(
                    f"- **{kind}**: {s.get('queued', 0)} / {s.get('running', 0)}"
                    f" (p95 {s.get('wait_p95_s')})"
                    for kind, s in stats.items()
                ) or t("admin.no_jobs", lang)
                frame = _frame(data["jobs"], JOB_COLUMNS, lang)
            consolidation: Any = (
                admin.consolidation("status")
                if admin.memory is not None
                else {"error": t("admin.error.memory_unavailable", lang)}
            )
            return t("admin.done", lang), jobs_md, frame, consolidation

        return await self.guarded(token, session, request, 3, action)

    async def on_cancel_job(
        self, token: str, session: dict[str, Any] | None, job_id: str, request: gr.Request
    ) -> tuple[Any, ...]:
        def action(lang: str) -> Sequence[Any]:
            admin = self.services.admin
            cancelled = admin.cancel_job((job_id or "").strip())
            key = "admin.job_cancelled" if cancelled else "admin.job_not_live"
            return t(key, lang), _frame(admin.queues()["jobs"], JOB_COLUMNS, lang)

        return await self.guarded(token, session, request, 1, action)

    def _consolidation(self, what: str) -> Callable[..., Any]:
        async def handler(
            token: str, session: dict[str, Any] | None, user_id: str, request: gr.Request
        ) -> tuple[Any, ...]:
            def action(lang: str) -> Sequence[Any]:
                result = self.services.admin.consolidation(what, (user_id or "").strip() or None)
                return t("admin.done", lang), result

            return await self.guarded(token, session, request, 1, action)

        return handler

    async def on_metrics(
        self, token: str, session: dict[str, Any] | None, request: gr.Request
    ) -> tuple[Any, ...]:
        def action(lang: str) -> Sequence[Any]:
            summary = self.services.admin.metrics_summary()
            outcomes, latency = metric_frames(summary)
            return t("admin.done", lang), outcomes, latency, summary

        return await self.guarded(token, session, request, 3, action)

    async def on_logs(
        self,
        token: str,
        session: dict[str, Any] | None,
        level: str | None,
        logger: str | None,
        text: str | None,
        request_id: str | None,
        limit: float | None,
        request: gr.Request,
    ) -> tuple[Any, ...]:
        def action(lang: str) -> Sequence[Any]:
            items = self.services.admin.log_tail(
                int(limit or 200),
                level or None,
                (logger or "").strip() or None,
                (text or "").strip() or None,
                (request_id or "").strip() or None,
            )
            return f"{t('admin.done', lang)} ({len(items)})", _frame(items, LOG_COLUMNS, lang)

        return await self.guarded(token, session, request, 1, action)

    async def on_backup(
        self, token: str, session: dict[str, Any] | None, request: gr.Request
    ) -> tuple[Any, ...]:
        def action(lang: str) -> Sequence[Any]:
            admin = self.services.admin
            path = admin.create_backup()
            link = download_link(
                path, admin.offer(path, "application/vnd.sqlite3", client(request))
            )
            return f"✓ {t('admin.backup_ready', lang)}: {link}", link

        return await self.guarded(token, session, request, 1, action)

    async def on_restore(
        self,
        token: str,
        session: dict[str, Any] | None,
        upload: str | None,
        confirm: bool,
        request: gr.Request,
    ) -> tuple[Any, ...]:
        def action(lang: str) -> Sequence[Any]:
            if not upload:
                return t("admin.restore_pick_file", lang), gr.skip()
            if not confirm:
                return t("admin.confirm_first", lang), gr.skip()
            result = self.services.admin.restore(uploaded_path(upload))
            return (
                f"✓ {t('admin.restored', lang, users=result.users, backup=result.safety_backup)}",
                False,
            )

        return await self.guarded(token, session, request, 1, action)

    async def on_config(
        self, token: str, session: dict[str, Any] | None, request: gr.Request
    ) -> tuple[Any, ...]:
        return await self.guarded(
            token,
            session,
            request,
            1,
            lambda lang: (t("admin.done", lang), self.services.admin.effective_config()),
        )

    # -- views -------------------------------------------------------------------------
    def users_frame(self, lang: str) -> pd.DataFrame:
        users = [u.model_dump() for u in self.services.admin.list_users()]
        return _frame(users, USER_COLUMNS, lang)

    def models_frame(self, lang: str) -> pd.DataFrame:
        models = [m.model_dump() for m in self.services.admin.list_models()]
        for model in models:  # the state in words, as the chat's model line says it
            key = f"chat.state.{model.get('state')}"
            model["state"] = t(key, lang) if key in MESSAGES else model.get("state")
        return _frame(models, MODEL_COLUMNS, lang)

    def persona_text(self, lang: str) -> str:
        defaults = self.services.admin.persona_defaults()
        return t(
            "admin.persona_now",
            lang,
            persona=defaults.default_persona,
            configured=defaults.configured,
        )


def download_link(path: Path, href: str) -> str:
    """A Markdown link to a one-time download (it works once, for a few minutes)."""
    return f"[⬇ {path.name}]({href})"


def client(request: gr.Request | None) -> str:
    """The address a one-time link is made for (the one that will follow it)."""
    return client_key(request) if request is not None else "unknown"


def headers(columns: list[str], lang: str) -> list[str]:
    """A table's column headers in the user's language (never the raw field names)."""
    return [t(f"admin.col.{c}", lang) for c in columns]


def _frame(rows: list[dict[str, Any]], columns: list[str], lang: str) -> pd.DataFrame:
    data = [[_cell(row.get(c), lang) for c in columns] for row in rows]
    return pd.DataFrame(data, columns=headers(columns, lang))


def _cell(value: Any, lang: str) -> Any:
    """Yes/no as words in the user's language, not True/False."""
    if isinstance(value, bool):
        return t("admin.yes" if value else "admin.no", lang)
    return value


def metric_frames(summary: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bar-plot data: LLM calls by outcome, and p50/p95 latencies in seconds."""
    requests = summary.get("llm", {}).get("requests", {})
    outcomes = pd.DataFrame(
        {"outcome": list(requests), "count": [float(v) for v in requests.values()]}
    )
    rows = []
    for name, area, prefix in (
        ("LLM", "llm", "latency"),
        ("TTFT", "llm", "ttft"),
        ("retrieval", "retrieval", "latency"),
        ("HTTP", "http", "latency"),
    ):
        part = summary.get(area, {})
        for q in ("p50", "p95"):
            value = part.get(f"{prefix}_{q}_s")
            rows.append({"metric": f"{name} {q}", "seconds": float(value or 0.0)})
    return outcomes, pd.DataFrame(rows, columns=["metric", "seconds"])
