"""The Memory tab: search, browse and edit this browser user's long-term memories, import and
export conversations, statistics and consolidation.

Every decision is in `services.memory` (a `MemoryService`) and `services.transfer` (a
`ConversationTransfer`); this module only turns their answers into components and the
components' values into their arguments.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import gradio as gr
import pandas as pd
from pydantic import ValidationError

from app.composition import Services
from app.i18n import Lang, normalize_lang, t
from app.services.conversations import ExportFormat, ImportResult
from app.ui.cells import cell_int
from app.ui.downloads import write_download
from app.ui.errors import warn
from app.ui.labels import Labels
from app.ui.session import user_of
from app.ui.uploads import uploaded_bytes
from config.errors import IkarError
from memory import (
    MemoryFilter,
    MemoryHealth,
    MemoryHit,
    MemoryItem,
    MemoryPatch,
    MemoryQuery,
    MemoryStats,
    NewMemory,
)
from memory.profile_types import FACT_KINDS, NewProfileFact, ProfileFact, ProfileFactPatch
from memory.types import ConsolidationStatus, ScheduleStatus

PAGE_SIZE: Final = 20
TABLE_TEXT_CHARS: Final = 240
KINDS: Final = ("turn", "summary", "fact", "manual")
ADD_KINDS: Final = ("manual", "fact")
MODES: Final = ("hybrid", "dense", "keyword")
IMPORT_FORMATS: Final = ("auto", "ikar", "sillytavern", "plain")
EXPORT_FORMATS: Final = ("md", "json", "jsonl")
_FORMAT_NAMES: Final = {"ikar": "IKAR JSON", "sillytavern": "SillyTavern JSONL", "plain": "JSON"}
DEFAULT_IMPORTANCE: Final = 0.7  # what POST /api/memory gives a manual note


# -- presentation --------------------------------------------------------------------------
def when(ts: float | None, lang: str) -> str:
    """A human date in the server's local time (the UI and the server run on one machine)."""
    if ts is None:
        return t("memory.never", lang)
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TABLE_TEXT_CHARS else text[: TABLE_TEXT_CHARS - 1] + "…"


def _pin_mark(pinned: bool) -> str:
    # A text star, not the pin emoji: emoji render as boxes where no emoji font exists.
    return "★" if pinned else ""


def search_headers(lang: str) -> list[str]:
    keys = ("id", "score", "kind", "author", "text", "created", "pinned", "sources")
    return [t(f"memory.col.{key}", lang) for key in keys]


def list_headers(lang: str) -> list[str]:
    keys = ("id", "kind", "text", "created", "importance", "pinned", "sources")
    return [t(f"memory.col.{key}", lang) for key in keys]


def hits_frame(hits: Sequence[MemoryHit], lang: str) -> pd.DataFrame:
    """Search results, best first; column 0 is the memory id (the editor reads it)."""
    rows = [
        [
            hit.id,
            round(hit.score, 4),
            t(f"memory.kind.{hit.kind}", lang),
            hit.author or "",
            _short(hit.text),
            when(hit.created_at, lang),
            _pin_mark(hit.pinned),
            short_ids(hit.source_message_ids),
        ]
        for hit in hits
    ]
    return pd.DataFrame(rows, columns=search_headers(lang))


def items_frame(items: Sequence[MemoryItem], lang: str) -> pd.DataFrame:
    """One page of the memory list; column 0 is the memory id."""
    rows = [
        [
            item.id,
            t(f"memory.kind.{item.kind}", lang),
            _short(item.text),
            when(item.created_at, lang),
            round(item.importance, 2),
            _pin_mark(item.pinned),
            short_ids(item.source_message_ids),
        ]
        for item in items
    ]
    return pd.DataFrame(rows, columns=list_headers(lang))


def _relabel(frame: pd.DataFrame | None, headers: list[str]) -> Any:
    """The same rows under headers in another language."""
    if not isinstance(frame, pd.DataFrame) or len(frame.columns) != len(headers):
        return pd.DataFrame(columns=headers)
    return frame.set_axis(headers, axis=1)


def short_ids(ids: Sequence[str]) -> str:
    """Message ids shortened like git hashes; the editor shows them whole."""
    return ", ".join(i[:8] for i in ids)


def page_markdown(offset: int, shown: int, total: int, lang: str) -> str:
    if total == 0 or shown == 0:
        return t("memory.page_empty", lang)
    return t("memory.page", lang, first=offset + 1, last=offset + shown, total=total)


def kinds_frame(stats: MemoryStats, lang: str) -> pd.DataFrame:
    """Counts by kind for `gr.BarPlot`; every kind is present, zero or not."""
    rows = [(t(f"memory.kind.{kind}", lang), int(stats.by_kind.get(kind, 0))) for kind in KINDS]
    return pd.DataFrame(rows, columns=["kind", "count"])


def stats_markdown(stats: MemoryStats, health: MemoryHealth, lang: str) -> str:
    index = health.index
    consistency = t(
        "memory.stats.consistent" if index.consistent else "memory.stats.inconsistent", lang
    )
    size = t(
        "memory.stats.index_value",
        lang,
        size=stats.index_size,
        kind=index.kind,
        model=index.embedding_model,
        vectors=index.sqlite_vectors,
    )
    lines = [
        f"#### {t('memory.stats_title', lang)}",
        f"- **{t('memory.stats.total', lang)}:** {stats.total}",
        f"- **{t('memory.stats.pinned', lang)}:** {stats.pinned}",
        f"- **{t('memory.stats.index', lang)}:** {size} — {consistency}",
        f"- **{t('memory.stats.pending', lang)}:** {stats.pending_embeddings}",
        f"- **{t('memory.stats.embedder', lang)}:** {health.embedder_name} "
        f"({health.embedder.state})",
        f"- **{t('memory.stats.last_consolidation', lang)}:** "
        f"{when(stats.last_consolidation_at, lang)}",
        f"- **{t('memory.stats.reembed', lang)}:** {reembed_text(health, lang)}",
    ]
    if health.profile is not None:
        lines.append(
            f"- **{t('memory.stats.profile', lang)}:** "
            + t("memory.stats.profile_value", lang, queue=health.profile.queue)
        )
    return "\n".join(lines)


def reembed_text(health: MemoryHealth, lang: str) -> str:
    """The re-embedding migration (authors into old memories' vectors): progress or state."""
    job = health.reembed
    if job.state == "running":
        return t(
            "memory.reembed.running",
            lang,
            done=job.done,
            total=job.total,
            percent=round(job.progress * 100),
        )
    if job.state == "done":
        return t("memory.reembed.done", lang, total=job.total, when=when(job.finished_at, lang))
    return t("memory.reembed.idle", lang)


def profile_headers(lang: str) -> list[str]:
    keys = ("id", "kind", "text", "source", "pinned")
    return [t(f"memory.col.{key}", lang) for key in keys]


def profile_frame(facts: Sequence[ProfileFact], lang: str) -> pd.DataFrame:
    """The profile facts, pinned first; column 0 is the fact id."""
    rows = [
        [
            f.id,
            t(f"memory.fact.{f.kind}", lang),
            f.text,
            t(f"memory.fact_source.{f.source}", lang),
            _pin_mark(f.pinned),
        ]
        for f in facts
    ]
    return pd.DataFrame(rows, columns=profile_headers(lang))


def consolidation_markdown(
    status: ConsolidationStatus, lang: str, schedule: ScheduleStatus | None = None
) -> str:
    line = t(
        "memory.consolidation_line",
        lang,
        state=t(f"memory.cstate.{status.state}", lang),
        windows=status.windows_done,
        summaries=status.summaries_created,
        merged=status.duplicates_merged,
        decayed=status.decayed,
    )
    if status.last_result:
        line += " " + t("memory.consolidation_result", lang, result=status.last_result)
    if status.error:
        line += " " + t("memory.consolidation_error", lang, error=status.error)
    if schedule is not None:
        waiting = (
            t(f"memory.schedule.wait.{schedule.waiting_for}", lang) if schedule.waiting_for else ""
        )
        line += "  \n" + t(
            "memory.schedule_line",
            lang,
            mode=t(f"memory.schedule.mode.{schedule.mode}", lang),
            runs=schedule.auto_runs,
            interrupted=schedule.interrupted,
            last=when(schedule.last_auto_at, lang),
        )
        if waiting:
            line += " " + waiting
    return line


def import_markdown(result: ImportResult, lang: str) -> str:
    """What an import did: the conversation, its format, its size, the parser's warnings."""
    source = _FORMAT_NAMES.get(result.source_format, result.source_format)
    text = t("memory.imported", lang, title=result.title, source=source, messages=result.messages)
    if result.warnings:
        text += f"\n\n{t('memory.import_warnings', lang)}\n" + "\n".join(
            f"- {w}" for w in result.warnings
        )
    return text


def _lang(session: dict[str, Any] | None) -> Lang:
    return normalize_lang((session or {}).get("lang"))


def _choices(prefix: str, values: Sequence[str], lang: str) -> list[tuple[str, str]]:
    return [(t(f"{prefix}.{value}", lang), value) for value in values]


# -- the tab -------------------------------------------------------------------------------
class MemoryTab:
    """Builds the tab and owns its callbacks; all decisions are in `services.memory` and
    `services.transfer`."""

    title_key = "tab.memory"
    tab_id = "memory"

    def __init__(self, services: Services, labels: Labels, session: gr.BrowserState) -> None:
        self.services = services
        self.labels = labels
        self.session = session

    # -- layout ------------------------------------------------------------------------

    def _who(self, session: dict[str, Any] | None) -> tuple[str, Lang]:
        """The verified user (a session the server signed) and the UI language."""
        return user_of(self.services.session_signer, session), _lang(session)

    def build(self) -> None:
        lb = self.labels
        lang = self.services.settings.language
        self._build_profile(lang)
        with lb.add(gr.Accordion(open=True), label="memory.section.search"):
            with gr.Row(equal_height=True):
                self.query = lb.add(
                    gr.Textbox(max_lines=1, scale=4, elem_id="memory-search-query"),
                    label="memory.query",
                    placeholder="memory.query_placeholder",
                )
                self.k = lb.add(
                    gr.Slider(1, 50, value=8, step=1, scale=1, elem_id="memory-search-k"),
                    label="memory.k",
                )
            with gr.Row():
                self.mode = lb.add(
                    gr.Radio(
                        choices=_choices("memory.mode", MODES, lang),
                        value="hybrid",
                        scale=2,
                        elem_id="memory-search-mode",
                    ),
                    label="memory.mode",
                )
                self.persona = lb.add(
                    gr.Dropdown(
                        choices=[(t("memory.all_personas", lang), "")],
                        value="",
                        scale=2,
                        elem_id="memory-search-persona",
                    ),
                    label="memory.persona",
                )
                self.search_btn = lb.add(
                    gr.Button(variant="primary", scale=1, elem_id="memory-search-btn"),
                    value="memory.search",
                )
            self.search_info = gr.Markdown(elem_id="memory-search-info")
            self.results = lb.add(
                gr.Dataframe(
                    value=pd.DataFrame(columns=search_headers(lang)),
                    datatype=["number", "number", "str", "str", "str", "str", "str", "str"],
                    interactive=False,
                    wrap=True,
                    column_widths=["6%", "7%", "8%", "9%", "42%", "12%", "6%", "10%"],
                    max_height=420,
                    elem_id="memory-search-results",
                ),
                label="memory.results",
            )
        with lb.add(gr.Accordion(open=True), label="memory.section.browse"):
            with gr.Row():
                self.kind_filter = lb.add(
                    gr.Dropdown(
                        choices=[
                            (t("memory.kind.any", lang), ""),
                            *_choices("memory.kind", KINDS, lang),
                        ],
                        value="",
                        scale=1,
                        elem_id="memory-kind-filter",
                    ),
                    label="memory.kind",
                )
                self.pinned_only = lb.add(
                    gr.Checkbox(value=False, scale=1, elem_id="memory-pinned-only"),
                    label="memory.pinned_only",
                )
                self.contains = lb.add(
                    gr.Textbox(max_lines=1, scale=2, elem_id="memory-contains"),
                    label="memory.contains",
                )
                self.show_btn = lb.add(
                    gr.Button(scale=1, elem_id="memory-show"), value="memory.show"
                )
            self.list_table = lb.add(
                gr.Dataframe(
                    value=pd.DataFrame(columns=list_headers(lang)),
                    datatype=["number", "str", "str", "str", "number", "str", "str"],
                    interactive=False,
                    wrap=True,
                    column_widths=["6%", "9%", "51%", "12%", "8%", "6%", "8%"],
                    max_height=480,
                    elem_id="memory-list",
                ),
                label="memory.list",
            )
            with gr.Row(equal_height=True):
                self.prev_btn = lb.add(
                    gr.Button(size="sm", scale=0, min_width=120, elem_id="memory-prev"),
                    value="memory.prev",
                )
                self.page_info = gr.Markdown(elem_id="memory-page-info")
                self.next_btn = lb.add(
                    gr.Button(size="sm", scale=0, min_width=120, elem_id="memory-next"),
                    value="memory.next",
                )
            self.offset = gr.State(0)
            self.shown_lang = gr.State(None)
            self.selected = gr.State(None)
            self.editor_info = gr.Markdown(elem_id="memory-editor-info")
            self.edit_text = lb.add(
                gr.Textbox(lines=3, max_lines=12, elem_id="memory-edit-text"),
                label="memory.text",
            )
            with gr.Row(equal_height=True):
                self.edit_importance = lb.add(
                    gr.Slider(0.0, 1.0, value=0.5, step=0.05, elem_id="memory-edit-importance"),
                    label="memory.importance",
                )
                self.edit_pinned = lb.add(
                    gr.Checkbox(value=False, elem_id="memory-edit-pinned"),
                    label="memory.pinned",
                )
            with gr.Row(equal_height=True):
                self.save_btn = lb.add(
                    gr.Button(variant="primary", elem_id="memory-save"), value="memory.save"
                )
                self.pin_btn = lb.add(gr.Button(elem_id="memory-pin"), value="memory.toggle_pin")
                self.confirm = lb.add(
                    gr.Checkbox(value=False, elem_id="memory-confirm-delete"),
                    label="memory.confirm_delete",
                )
                self.delete_btn = lb.add(
                    gr.Button(variant="stop", elem_id="memory-delete"), value="memory.delete"
                )
        with lb.add(gr.Accordion(open=True), label="memory.section.add"):
            self.add_text = lb.add(
                gr.Textbox(lines=2, max_lines=8, elem_id="memory-add-text"),
                label="memory.add_text",
                placeholder="memory.add_placeholder",
            )
            with gr.Row():
                self.add_kind = lb.add(
                    gr.Radio(
                        choices=_choices("memory.kind", ADD_KINDS, lang),
                        value="manual",
                        elem_id="memory-add-kind",
                    ),
                    label="memory.add_kind",
                )
                self.add_pinned = lb.add(
                    gr.Checkbox(value=False, elem_id="memory-add-pinned"),
                    label="memory.pinned",
                )
                self.add_btn = lb.add(
                    gr.Button(variant="primary", elem_id="memory-add-btn"), value="memory.add"
                )
        with lb.add(gr.Accordion(open=False), label="memory.section.transfer"), gr.Row():
            with gr.Column():
                self.import_file = lb.add(
                    gr.File(
                        file_types=[".json", ".jsonl", ".txt"],
                        type="filepath",
                        elem_id="memory-import-file",
                    ),
                    label="memory.import_file",
                )
                with gr.Row():
                    self.import_format = lb.add(
                        gr.Dropdown(
                            choices=self._format_choices(lang),
                            value="auto",
                            elem_id="memory-import-format",
                        ),
                        label="memory.import_format",
                    )
                    self.import_persona = lb.add(
                        gr.Dropdown(
                            choices=[(t("memory.persona_from_file", lang), "")],
                            value="",
                            elem_id="memory-import-persona",
                        ),
                        label="memory.import_persona",
                    )
                self.import_btn = lb.add(
                    gr.Button(variant="primary", elem_id="memory-import"), value="memory.import"
                )
                self.import_result = gr.Markdown(elem_id="memory-import-result")
            with gr.Column():
                self.export_memories_btn = lb.add(
                    gr.Button(elem_id="memory-export-memories"), value="memory.export_memories"
                )
                with gr.Row():
                    self.conversation = lb.add(
                        gr.Dropdown(choices=[], value=None, elem_id="memory-conversation"),
                        label="memory.conversation",
                    )
                    self.export_format = lb.add(
                        gr.Radio(
                            choices=list(EXPORT_FORMATS),
                            value="md",
                            elem_id="memory-export-format",
                        ),
                        label="memory.export_format",
                    )
                self.export_conversation_btn = lb.add(
                    gr.Button(elem_id="memory-export-conversation"),
                    value="memory.export_conversation",
                )
                self.export_file = lb.add(
                    gr.File(interactive=False, elem_id="memory-export-file"),
                    label="memory.export_file",
                )
        with lb.add(gr.Accordion(open=False), label="memory.section.stats"):
            with gr.Row():
                with gr.Column(scale=3):
                    self.kind_plot = lb.add(
                        gr.BarPlot(
                            x="kind",
                            y="count",
                            x_title=" ",
                            y_title=" ",
                            height=260,
                            elem_id="memory-kind-plot",
                        ),
                        label="memory.by_kind",
                    )
                with gr.Column(scale=2):
                    self.stats_view = gr.Markdown(elem_id="memory-stats")
            self.consolidation_hint = lb.add(gr.Markdown(), value="memory.consolidation_hint")
            self.consolidation_view = gr.Markdown(elem_id="memory-consolidation")
            with gr.Row():
                self.consolidate_btn = lb.add(
                    gr.Button(elem_id="memory-consolidate"), value="memory.consolidate"
                )
                self.cancel_btn = lb.add(
                    gr.Button(variant="stop", elem_id="memory-cancel-consolidation"),
                    value="memory.cancel_consolidation",
                )
                self.refresh_btn = lb.add(
                    gr.Button(elem_id="memory-refresh"), value="memory.refresh"
                )
        # Polls the consolidation while it runs; switched on and off by the callbacks.
        self.timer = gr.Timer(2.0, active=False)
        self._wire()

    def _build_profile(self, lang: str) -> None:
        """The profile (core memory): facts always in the companion's prompt."""
        lb = self.labels
        with lb.add(gr.Accordion(open=True), label="memory.section.profile"):
            lb.add(gr.Markdown(), value="memory.profile_hint")
            self.profile_table = lb.add(
                gr.Dataframe(
                    value=pd.DataFrame(columns=profile_headers(lang)),
                    datatype=["number", "str", "str", "str", "str"],
                    interactive=False,
                    wrap=True,
                    column_widths=["7%", "13%", "60%", "12%", "8%"],
                    max_height=360,
                    elem_id="memory-profile",
                ),
                label="memory.profile",
            )
            self.fact_selected = gr.State(None)
            with gr.Row(equal_height=True):
                self.fact_text = lb.add(
                    gr.Textbox(max_lines=2, scale=4, elem_id="memory-fact-text"),
                    label="memory.fact_text",
                    placeholder="memory.fact_placeholder",
                )
                self.fact_kind = lb.add(
                    gr.Dropdown(
                        choices=_choices("memory.fact", FACT_KINDS, lang),
                        value="other",
                        scale=1,
                        elem_id="memory-fact-kind",
                    ),
                    label="memory.fact_kind",
                )
            with gr.Row():
                self.fact_add_btn = lb.add(
                    gr.Button(variant="primary", elem_id="memory-fact-add"),
                    value="memory.fact_add",
                )
                self.fact_save_btn = lb.add(
                    gr.Button(elem_id="memory-fact-save"), value="memory.fact_save"
                )
                self.fact_pin_btn = lb.add(
                    gr.Button(elem_id="memory-fact-pin"), value="memory.toggle_pin"
                )
                self.fact_delete_btn = lb.add(
                    gr.Button(variant="stop", elem_id="memory-fact-delete"),
                    value="memory.delete",
                )

    @property
    def profile_outputs(self) -> list[Any]:
        return [self.profile_table, self.fact_selected, self.fact_text, self.fact_kind]

    async def profile_values(
        self, user_id: str, lang: str, selected: ProfileFact | None = None
    ) -> list[Any]:
        """[table, selected id, text, kind] for this user's profile."""
        store = self.services.memory.profile.store
        facts = await self.services.db.run(store.list, user_id, None, True)
        if selected is None:
            return [profile_frame(facts, lang), None, "", "other"]
        return [profile_frame(facts, lang), selected.id, selected.text, selected.kind]

    async def on_fact_select(
        self, table: pd.DataFrame | None, session: dict[str, Any], evt: gr.SelectData
    ) -> list[Any]:
        user_id, _ = self._who(session)
        row = evt.row_value
        if row:
            value = row[0]
        elif table is not None and isinstance(evt.index, list | tuple) and len(table):
            value = table.iloc[int(evt.index[0]), 0]
        else:
            value = None
        fact_id = cell_int(value)
        store = self.services.memory.profile.store
        fact = await self.services.db.run(store.get, user_id, fact_id) if fact_id else None
        if fact is None:
            return [gr.skip(), None, "", "other"]
        return [gr.skip(), fact.id, fact.text, fact.kind]

    async def on_fact_add(self, text: str, kind: str, session: dict[str, Any]) -> list[Any]:
        user_id, lang = self._who(session)
        try:
            new = NewProfileFact(text=(text or "").strip(), kind=kind or "other")
        except ValidationError:
            gr.Warning(t("memory.fact_invalid", lang))
            return [gr.skip() for _ in self.profile_outputs]
        await self.services.db.run(self.services.memory.profile.store.add, user_id, new)
        gr.Info(t("memory.fact_added", lang))
        return await self.profile_values(user_id, lang)

    async def _patch_fact(
        self, fact_id: int | None, patch: ProfileFactPatch | None, session: dict[str, Any]
    ) -> list[Any]:
        user_id, lang = self._who(session)
        if fact_id is None:
            gr.Warning(t("memory.fact_no_selection", lang))
            return [gr.skip() for _ in self.profile_outputs]
        store = self.services.memory.profile.store
        if patch is None:
            if not await self.services.db.run(store.delete, user_id, fact_id):
                gr.Warning(t("error.profile_fact_not_found", lang))
            return await self.profile_values(user_id, lang)
        fact = await self.services.db.run(store.update, user_id, fact_id, patch)
        if fact is None:
            gr.Warning(t("error.profile_fact_not_found", lang))
        return await self.profile_values(user_id, lang, fact)

    async def on_fact_save(
        self, fact_id: int | None, text: str, kind: str, session: dict[str, Any]
    ) -> list[Any]:
        try:
            patch = ProfileFactPatch(text=(text or "").strip(), kind=kind or None)
        except ValidationError:
            gr.Warning(t("memory.fact_invalid", _lang(session)))
            return [gr.skip() for _ in self.profile_outputs]
        return await self._patch_fact(fact_id, patch, session)

    async def on_fact_pin(self, fact_id: int | None, session: dict[str, Any]) -> list[Any]:
        user_id, _ = self._who(session)
        store = self.services.memory.profile.store
        fact = await self.services.db.run(store.get, user_id, fact_id) if fact_id else None
        pinned = not fact.pinned if fact else True
        return await self._patch_fact(fact_id, ProfileFactPatch(pinned=pinned), session)

    async def on_fact_delete(self, fact_id: int | None, session: dict[str, Any]) -> list[Any]:
        return await self._patch_fact(fact_id, None, session)

    @staticmethod
    def _format_choices(lang: str) -> list[tuple[str, str]]:
        return [(t("memory.format.auto", lang), "auto")] + [
            (_FORMAT_NAMES[fmt], fmt) for fmt in IMPORT_FORMATS[1:]
        ]

    @property
    def editor_outputs(self) -> list[Any]:
        return [
            self.selected,
            self.editor_info,
            self.edit_text,
            self.edit_importance,
            self.edit_pinned,
            self.confirm,
        ]

    @property
    def list_inputs(self) -> list[Any]:
        return [self.kind_filter, self.pinned_only, self.contains, self.offset, self.session]

    @property
    def list_outputs(self) -> list[Any]:
        return [self.list_table, self.page_info, self.offset]

    @property
    def stats_outputs(self) -> list[Any]:
        return [self.kind_plot, self.stats_view, self.consolidation_view, self.timer]

    def _wire(self) -> None:
        private: dict[str, Any] = {"api_visibility": "private"}
        quiet: dict[str, Any] = {**private, "show_progress": "hidden"}
        self.profile_table.select(
            self.on_fact_select, [self.profile_table, self.session], self.profile_outputs, **quiet
        )
        fact_text = [self.fact_text, self.fact_kind, self.session]
        self.fact_add_btn.click(self.on_fact_add, fact_text, self.profile_outputs, **private)
        self.fact_save_btn.click(
            self.on_fact_save, [self.fact_selected, *fact_text], self.profile_outputs, **private
        )
        for button, callback in (
            (self.fact_pin_btn, self.on_fact_pin),
            (self.fact_delete_btn, self.on_fact_delete),
        ):
            button.click(
                callback, [self.fact_selected, self.session], self.profile_outputs, **private
            )
        search_inputs = [self.query, self.k, self.mode, self.persona, self.session]
        for trigger in (self.search_btn.click, self.query.submit):
            trigger(self.on_search, search_inputs, [self.results, self.search_info], **private)

        filter_inputs = [self.kind_filter, self.pinned_only, self.contains, self.session]
        for trigger in (self.show_btn.click, self.contains.submit):
            trigger(self.on_filter, filter_inputs, self.list_outputs, **private)
        self.kind_filter.input(self.on_filter, filter_inputs, self.list_outputs, **quiet)
        self.pinned_only.input(self.on_filter, filter_inputs, self.list_outputs, **quiet)
        self.prev_btn.click(self.on_prev, self.list_inputs, self.list_outputs, **quiet)
        self.next_btn.click(self.on_next, self.list_inputs, self.list_outputs, **quiet)

        for table in (self.results, self.list_table):
            table.select(self.on_select, [table, self.session], self.editor_outputs, **quiet)
        editor_actions: list[tuple[gr.Button, Any, list[Any]]] = [
            (self.save_btn, self.on_save, [self.edit_text, self.edit_importance, self.edit_pinned]),
            (self.pin_btn, self.on_toggle_pin, []),
            (self.delete_btn, self.on_delete, [self.confirm]),
        ]
        for button, callback, extra in editor_actions:
            button.click(
                callback, [self.selected, *extra, self.session], self.editor_outputs, **private
            ).then(self.on_page, self.list_inputs, self.list_outputs, **quiet)
        self.add_btn.click(
            self.on_add,
            [self.add_text, self.add_kind, self.add_pinned, self.session],
            [self.add_text, *self.editor_outputs],
            **private,
        ).then(self.on_page, self.list_inputs, self.list_outputs, **quiet)

        self.import_btn.click(
            self.on_import,
            [self.import_file, self.import_format, self.import_persona, self.session],
            [self.import_result, self.import_file, self.conversation],
            **private,
        ).then(self.on_page, self.list_inputs, self.list_outputs, **quiet)
        self.export_memories_btn.click(
            self.on_export_memories, [self.session], [self.export_file], **private
        )
        self.export_conversation_btn.click(
            self.on_export_conversation,
            [self.conversation, self.export_format, self.session],
            [self.export_file],
            **private,
        )

        self.refresh_btn.click(
            self.on_refresh,
            [self.conversation, self.session],
            [*self.stats_outputs, self.conversation],
            **private,
        )
        self.consolidate_btn.click(
            self.on_consolidate, [self.session], self.stats_outputs, **private
        )
        self.cancel_btn.click(
            self.on_cancel_consolidation, [self.session], self.stats_outputs, **private
        )
        self.timer.tick(self.on_stats, [self.session], self.stats_outputs, **quiet)
        self.session.change(
            self.on_language,
            [
                self.session,
                self.shown_lang,
                self.persona,
                self.import_persona,
                self.results,
                self.list_table,
                self.profile_table,
            ],
            self.language_outputs,
            **quiet,
        )

    # -- helpers -----------------------------------------------------------------------
    async def _persona_choices(
        self, lang: str, blank_key: str, selected: str = "", user_id: str | None = None
    ) -> Any:
        personas = await self.services.soul.list_personas_async(user_id)
        choices = [(t(blank_key, lang), "")] + [(f"{p.name} · {p.id}", p.id) for p in personas]
        ids = {p.id for p in personas}
        return gr.update(choices=choices, value=selected if selected in ids else "")

    async def _conversation_choices(self, user_id: str, selected: str | None) -> Any:
        convs = await self.services.chat.list_conversations(user_id)
        ids = [c.id for c in convs]
        value = selected if selected in ids else (ids[0] if ids else None)
        return gr.update(choices=[(c.title, c.id) for c in convs], value=value)

    def editor_values(self, item: MemoryItem | None, lang: str) -> list[Any]:
        """What the editor shows for `item` (or the hint when nothing is selected)."""
        if item is None:
            return [None, t("memory.editor_hint", lang), "", 0.5, False, False]
        title = t(
            "memory.editor_title",
            lang,
            id=item.id,
            kind=t(f"memory.kind.{item.kind}", lang),
            created=when(item.created_at, lang),
        )
        if item.source_message_ids:
            sources = ", ".join(f"`{i}`" for i in item.source_message_ids)
            title += f"  \n{t('memory.col.sources', lang)}: {sources}"
        return [item.id, title, item.text, item.importance, item.pinned, False]

    async def _write_export(self, name: str, data: bytes) -> str:
        return await write_download(name, data)

    # -- callbacks: load ---------------------------------------------------------------
    @property
    def language_outputs(self) -> list[Any]:
        """What shows translated choices or headers: `labels` relabels only the labels."""
        return [
            self.shown_lang,
            self.persona,
            self.import_persona,
            self.mode,
            self.kind_filter,
            self.add_kind,
            self.import_format,
            self.fact_kind,
            self.results,
            self.list_table,
            self.profile_table,
        ]

    async def translated(
        self,
        lang: Lang,
        persona: str | None,
        import_persona: str | None,
        user_id: str | None = None,
    ) -> list[Any]:
        """Choices in `lang` for `language_outputs` (less the two tables), keeping values;
        the personas are those `user_id` may use."""
        kinds = [(t("memory.kind.any", lang), ""), *_choices("memory.kind", KINDS, lang)]
        return [
            lang,
            await self._persona_choices(lang, "memory.all_personas", persona or "", user_id),
            await self._persona_choices(
                lang, "memory.persona_from_file", import_persona or "", user_id
            ),
            gr.update(choices=_choices("memory.mode", MODES, lang)),
            gr.update(choices=kinds),
            gr.update(choices=_choices("memory.kind", ADD_KINDS, lang)),
            gr.update(choices=self._format_choices(lang)),
            gr.update(choices=_choices("memory.fact", FACT_KINDS, lang)),
        ]

    def load_outputs(self) -> list[Any]:
        return [
            self.fact_selected,
            self.fact_text,
            *self.language_outputs,
            self.search_info,
            self.page_info,
            self.offset,
            *self.editor_outputs,
            *self.stats_outputs,
            self.conversation,
        ]

    async def on_load(self, session: dict[str, Any]) -> list[Any]:
        user_id, lang = self._who(session)
        table, info, offset = await self.on_page("", False, "", 0, session)
        facts = await self.services.db.run(
            self.services.memory.profile.store.list, user_id, None, True
        )
        return [
            None,
            "",
            *await self.translated(lang, None, None, user_id),
            pd.DataFrame(columns=search_headers(lang)),
            table,
            profile_frame(facts, lang),
            "",
            info,
            offset,
            *self.editor_values(None, lang),
            *await self.on_stats(session),
            await self._conversation_choices(user_id, session.get("conversation_id")),
        ]

    async def on_language(
        self,
        session: dict[str, Any] | None,
        shown: str | None,
        persona: str | None,
        import_persona: str | None,
        results: pd.DataFrame | None,
        listed: pd.DataFrame | None,
        profile: pd.DataFrame | None = None,
    ) -> list[Any]:
        """The session changed: when its language did, translate choices and table headers."""
        lang = _lang(session)
        if shown == lang:
            return [gr.skip() for _ in self.language_outputs]
        user_id, _ = self._who(session)
        return [
            *await self.translated(lang, persona, import_persona, user_id),
            _relabel(results, search_headers(lang)),
            _relabel(listed, list_headers(lang)),
            _relabel(profile, profile_headers(lang)),
        ]

    # -- callbacks: search -------------------------------------------------------------
    async def on_search(
        self, query: str, k: float, mode: str, persona: str | None, session: dict[str, Any]
    ) -> list[Any]:
        """Search this user's memories; returns [results table, "N found" line]."""
        user_id, lang = self._who(session)
        query = (query or "").strip()
        if not query:
            gr.Warning(t("memory.empty_query", lang))
            return [gr.skip(), gr.skip()]
        try:
            memory_query = MemoryQuery(
                user_id=user_id,
                persona_id=persona or None,
                query=query,
                k=max(1, min(100, int(k or 8))),
                mode=mode if mode in MODES else "hybrid",
            )
        except ValidationError as exc:
            gr.Warning(t("error.invalid_request", lang, detail=exc.errors()[0]["msg"]))
            return [gr.skip(), gr.skip()]
        hits = await self.services.memory.search_async(memory_query)
        info = t("memory.found", lang, count=len(hits)) if hits else t("memory.nothing_found", lang)
        return [hits_frame(hits, lang), info]

    # -- callbacks: the list -----------------------------------------------------------
    async def on_page(
        self,
        kind: str | None,
        pinned_only: bool,
        contains: str | None,
        offset: int | None,
        session: dict[str, Any],
    ) -> list[Any]:
        """One page of this user's memories: [table, "showing a–b of n", offset]."""
        user_id, lang = self._who(session)
        offset = max(0, int(offset or 0))
        flt = MemoryFilter(
            kind=kind if kind in KINDS else None,
            pinned=True if pinned_only else None,
            contains=(contains or "").strip() or None,
            offset=offset,
            limit=PAGE_SIZE,
        )
        page = await self.services.memory.list_memories_async(user_id, flt)
        if not page.items and page.total and offset:
            # Past the end (items were deleted meanwhile): show the last page instead.
            last = (page.total - 1) // PAGE_SIZE * PAGE_SIZE
            return await self.on_page(kind, pinned_only, contains, last, session)
        return [
            items_frame(page.items, lang),
            page_markdown(offset, len(page.items), page.total, lang),
            offset,
        ]

    async def on_filter(
        self, kind: str | None, pinned_only: bool, contains: str | None, session: dict[str, Any]
    ) -> list[Any]:
        return await self.on_page(kind, pinned_only, contains, 0, session)

    async def on_prev(
        self,
        kind: str | None,
        pinned_only: bool,
        contains: str | None,
        offset: int | None,
        session: dict[str, Any],
    ) -> list[Any]:
        previous = max(0, int(offset or 0) - PAGE_SIZE)
        return await self.on_page(kind, pinned_only, contains, previous, session)

    async def on_next(
        self,
        kind: str | None,
        pinned_only: bool,
        contains: str | None,
        offset: int | None,
        session: dict[str, Any],
    ) -> list[Any]:
        return await self.on_page(
            kind, pinned_only, contains, int(offset or 0) + PAGE_SIZE, session
        )

    # -- callbacks: the editor ---------------------------------------------------------
    async def load_editor(self, memory_id: int | None, session: dict[str, Any]) -> list[Any]:
        """The editor filled with one of this user's memories (a warning if it is gone)."""
        user_id, lang = self._who(session)
        if memory_id is None:
            return self.editor_values(None, lang)
        item = await self.services.memory.get_async(memory_id, user_id)
        if item is None:
            gr.Warning(t("error.memory_not_found", lang))
        return self.editor_values(item, lang)

    async def on_select(
        self, table: pd.DataFrame | None, session: dict[str, Any], evt: gr.SelectData
    ) -> list[Any]:
        """A click on a row of either table: its column 0 is the memory id."""
        row = evt.row_value
        if row:
            value = row[0]
        elif table is not None and isinstance(evt.index, list | tuple) and len(table):
            value = table.iloc[int(evt.index[0]), 0]
        else:
            value = None
        return await self.load_editor(cell_int(value), session)

    async def on_save(
        self,
        memory_id: int | None,
        text: str,
        importance: float,
        pinned: bool,
        session: dict[str, Any],
    ) -> list[Any]:
        user_id, lang = self._who(session)
        skip = [gr.skip() for _ in self.editor_outputs]
        if memory_id is None:
            gr.Warning(t("memory.no_selection", lang))
            return skip
        try:
            patch = MemoryPatch(
                text=(text or "").strip(), importance=float(importance), pinned=bool(pinned)
            )
        except ValidationError as exc:
            detail = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            gr.Warning(t("memory.bad_edit", lang, detail=detail))
            return skip
        item = await self.services.memory.update_async(memory_id, user_id, patch)
        if item is None:
            gr.Warning(t("error.memory_not_found", lang))
            return self.editor_values(None, lang)
        gr.Info(t("memory.saved", lang))
        return self.editor_values(item, lang)

    async def on_toggle_pin(self, memory_id: int | None, session: dict[str, Any]) -> list[Any]:
        user_id, lang = self._who(session)
        if memory_id is None:
            gr.Warning(t("memory.no_selection", lang))
            return [gr.skip() for _ in self.editor_outputs]
        memory = self.services.memory
        current = await memory.get_async(memory_id, user_id)
        item = (
            await memory.pin_async(memory_id, user_id, not current.pinned)
            if current is not None
            else None
        )
        if item is None:
            gr.Warning(t("error.memory_not_found", lang))
            return self.editor_values(None, lang)
        gr.Info(t("memory.pinned_now" if item.pinned else "memory.unpinned_now", lang))
        return self.editor_values(item, lang)

    async def on_delete(
        self, memory_id: int | None, confirmed: bool, session: dict[str, Any]
    ) -> list[Any]:
        user_id, lang = self._who(session)
        skip = [gr.skip() for _ in self.editor_outputs]
        if memory_id is None:
            gr.Warning(t("memory.no_selection", lang))
            return skip
        if not confirmed:
            gr.Warning(t("memory.confirm_first", lang))
            return skip
        if await self.services.memory.delete_async(memory_id, user_id):
            gr.Info(t("memory.deleted", lang))
        else:
            gr.Warning(t("error.memory_not_found", lang))
        return self.editor_values(None, lang)

    async def on_add(
        self, text: str, kind: str, pinned: bool, session: dict[str, Any]
    ) -> list[Any]:
        """Remember a note or a fact; returns [cleared text box, *editor showing it]."""
        user_id, lang = self._who(session)
        text = (text or "").strip()
        if not text:
            gr.Warning(t("memory.empty_text", lang))
            return [gr.skip() for _ in range(1 + len(self.editor_outputs))]
        try:
            new = NewMemory(
                user_id=user_id,
                text=text,
                kind=kind if kind in ADD_KINDS else "manual",
                importance=DEFAULT_IMPORTANCE,
                pinned=bool(pinned),
            )
        except ValidationError as exc:
            gr.Warning(t("memory.bad_edit", lang, detail=exc.errors()[0]["msg"]))
            return [gr.skip() for _ in range(1 + len(self.editor_outputs))]
        item = await self.services.memory.add_memory_async(new)
        gr.Info(t("memory.added", lang, id=item.id))
        return ["", *self.editor_values(item, lang)]

    # -- callbacks: import and export --------------------------------------------------
    async def on_import(
        self, path: str | None, fmt: str, persona: str | None, session: dict[str, Any]
    ) -> list[Any]:
        """Import a conversation file; returns [result text, cleared upload, conversations]."""
        user_id, lang = self._who(session)
        skip = [gr.skip(), gr.skip(), gr.skip()]
        if not path:
            gr.Warning(t("memory.no_file", lang))
            return skip
        try:
            data = await uploaded_bytes(path, self.services.settings.max_upload_bytes)
            result = await self.services.transfer.import_file_async(
                user_id,
                data,
                fmt if fmt in IMPORT_FORMATS else "auto",
                os.path.basename(path),
                persona or None,
            )
        except IkarError as exc:  # too large, broken file, ...
            return [f"⚠ {warn(exc, lang)}", gr.skip(), gr.skip()]
        return [
            import_markdown(result, lang),
            None,
            await self._conversation_choices(user_id, result.conversation_id),
        ]

    async def on_export_memories(self, session: dict[str, Any]) -> str:
        user_id, _ = self._who(session)
        data = await self.services.memory.export_memories_async(user_id)
        return await self._write_export("ikar-memories.json", data)

    async def on_export_conversation(
        self, conversation_id: str | None, fmt: str, session: dict[str, Any]
    ) -> Any:
        user_id, lang = self._who(session)
        if not conversation_id:
            gr.Warning(t("memory.no_conversation", lang))
            return gr.skip()
        chosen: ExportFormat = "json" if fmt == "json" else "jsonl" if fmt == "jsonl" else "md"
        try:
            text, _ = await self.services.transfer.export_async(user_id, conversation_id, chosen)
        except IkarError as exc:
            warn(exc, lang)
            return gr.skip()
        name = f"conversation-{conversation_id[:12]}.{chosen}"
        return await self._write_export(name, text.encode("utf-8"))

    # -- callbacks: statistics and consolidation ---------------------------------------
    async def on_stats(self, session: dict[str, Any]) -> list[Any]:
        """[counts by kind, statistics, consolidation line, timer on while it runs]."""
        user_id, lang = self._who(session)
        memory = self.services.memory
        stats = await memory.stats_async(user_id)
        health = await memory.status_async()
        return [
            kinds_frame(stats, lang),
            stats_markdown(stats, health, lang),
            consolidation_markdown(health.consolidation, lang, health.schedule),
            # polls while consolidation or the re-embedding migration runs
            gr.update(
                active=health.consolidation.state != "idle" or health.reembed.state == "running"
            ),
        ]

    async def on_refresh(self, conversation_id: str | None, session: dict[str, Any]) -> list[Any]:
        user_id, _ = self._who(session)
        return [
            *await self.on_stats(session),
            await self._conversation_choices(user_id, conversation_id),
        ]

    async def on_consolidate(self, session: dict[str, Any]) -> list[Any]:
        user_id, lang = self._who(session)
        started = await self.services.memory.start_consolidation_async(user_id)
        if started:
            gr.Info(t("memory.consolidation_started", lang))
        else:
            gr.Warning(t("memory.consolidation_busy", lang))
        return await self.on_stats(session)

    async def on_cancel_consolidation(self, session: dict[str, Any]) -> list[Any]:
        lang = _lang(session)
        if await self.services.memory.cancel_consolidation_async():
            gr.Info(t("memory.consolidation_cancelled", lang))
        else:
            gr.Warning(t("memory.consolidation_not_running", lang))
        return await self.on_stats(session)
