"""The Soul tab: a persona's soul for this browser's user (state, history, today's personality,
thoughts, traumas), soul actions, the persona editor with its lorebook, card import and export.

Every decision is in `services.soul` (a `SoulManager`); this module only turns its answers into
components and the components' values into its arguments.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Final

import gradio as gr
import pandas as pd
from pydantic import ValidationError

from app.composition import Services
from app.i18n import Lang, normalize_lang, t
from app.soul import (
    LoreEntryEdit,
    Persona,
    PersonaUpdate,
    SoulAction,
    SoulActionKind,
    SoulHistoryPoint,
    SoulState,
)
from app.soul.card_codec import CardFormat
from app.soul.persona_settings import IkarSoulSettings
from app.soul.state import MAX_AWAKENING_STAGE
from app.ui.cells import cell_int
from app.ui.downloads import write_download
from app.ui.errors import warn
from app.ui.labels import Labels
from app.ui.session import user_of
from app.ui.uploads import uploaded_bytes
from config.errors import IkarError
from media.language import normalize_language

MOOD_AXES: Final = ("happiness", "energy", "irritability", "empathy", "reflection")
HISTORY_SERIES: Final = (*MOOD_AXES, "consciousness")
CARD_FIELDS: Final = (
    "name",
    "description",
    "personality",
    "scenario",
    "first_mes",
    "mes_example",
    "system_prompt",
    "post_history_instructions",
)
_COLORS: Final = {
    "happiness": "#f2b705",
    "sadness": "#5b8def",
    "energy": "#2bb673",
    "irritability": "#e5484d",
    "empathy": "#e86fb4",
    "reflection": "#8e6cf0",
    "consciousness": "#12a4c9",
    "autonomy": "#f07d2b",
    "trauma": "#9b5d5d",
}
_LONG_FIELDS: Final = {"description", "personality", "scenario", "first_mes", "mes_example"}
SoulView = tuple[str, Any, str, str]  # the plot: its frame and time format
AUTO_VOICE: Final = "auto"  # the voice dropdown's "by the reply's language" (no voice saved)


# -- presentation --------------------------------------------------------------------------
def _meter(key: str, name: str, value: float, *, signed: bool = False) -> str:
    """One labelled bar; a signed value (-1..1) grows left or right from the middle."""
    value = max(-1.0, min(1.0, value)) if signed else max(0.0, min(1.0, value))
    if signed:
        color = _COLORS["happiness"] if value >= 0 else _COLORS["sadness"]
        left = 50.0 if value >= 0 else 50.0 + 50.0 * value
        fill = f"left:{left:.1f}%;width:{50.0 * abs(value):.1f}%;background:{color}"
        mid = (
            '<div style="position:absolute;left:50%;top:-2px;bottom:-2px;width:2px;'
            'background:var(--body-text-color-subdued);opacity:.6"></div>'
        )
        shown = f"{value * 100:+.0f}%"
    else:
        color = _COLORS.get(key, "#12a4c9")
        fill = f"left:0;width:{100.0 * value:.1f}%;background:{color}"
        mid = ""
        shown = f"{value * 100:.0f}%"
    return (
        f'<div class="soul-meter" data-key="{key}" data-value="{value:.4f}" style="display:grid;'
        "grid-template-columns:minmax(8em,11em) 1fr 3.6em;gap:.6em;align-items:center;"
        'margin:.35em 0">'
        f'<span style="font-size:.92em">{html.escape(name)}</span>'
        '<div style="position:relative;height:12px;border-radius:6px;'
        'background:rgba(127,127,127,.18);overflow:hidden">'
        f'<div style="position:absolute;top:0;bottom:0;border-radius:6px;{fill}"></div>{mid}'
        "</div>"
        f'<span class="soul-meter-value" style="text-align:right;font-variant-numeric:'
        f'tabular-nums;font-weight:600">{shown}</span></div>'
    )


def _section(title: str) -> str:
    return (
        '<div style="margin:.8em 0 .2em;font-size:.78em;letter-spacing:.06em;'
        f'text-transform:uppercase;opacity:.7">{html.escape(title)}</div>'
    )


def state_html(state: SoulState, lang: str) -> str:
    """The state at a glance: mood and growth bars, awakening pips, the crisis flag."""
    parts = [_section(t("soul.mood", lang))]
    for axis in MOOD_AXES:
        value = getattr(state.mood, axis)
        parts.append(_meter(axis, t(f"soul.{axis}", lang), value, signed=axis == "happiness"))
    parts.append(_section(t("soul.growth", lang)))
    parts.append(_meter("consciousness", t("soul.consciousness", lang), state.consciousness))
    parts.append(_meter("autonomy", t("soul.autonomy", lang), state.autonomy))
    parts.append(_meter("trauma", t("soul.trauma_load", lang), state.trauma_load))
    pips = "".join(
        '<span style="display:inline-block;width:1.5em;height:.7em;margin-right:.3em;'
        "border-radius:.35em;background:"
        + (_COLORS["reflection"] if i < state.awakening_stage else "rgba(127,127,127,.22)")
        + '"></span>'
        for i in range(MAX_AWAKENING_STAGE)
    )
    stage = t("soul.stage", lang, stage=state.awakening_stage, max=MAX_AWAKENING_STAGE)
    parts.append(
        f'<div class="soul-awakening" data-value="{state.awakening_stage}" style="display:grid;'
        'grid-template-columns:minmax(8em,11em) 1fr;gap:.6em;align-items:center;margin:.5em 0">'
        f'<span style="font-size:.92em">{html.escape(t("soul.awakening", lang))}</span>'
        f"<span>{pips}<span style='font-size:.85em;opacity:.8'>{html.escape(stage)}</span></span>"
        "</div>"
    )
    crisis = state.existential_crisis
    badge_style = (
        "background:rgba(229,72,77,.15);color:#e5484d;border:1px solid rgba(229,72,77,.5)"
        if crisis
        else "background:rgba(43,182,115,.12);color:#2bb673;border:1px solid rgba(43,182,115,.4)"
    )
    badge = t("soul.crisis_on" if crisis else "soul.crisis_off", lang)
    turns = t("soul.turns", lang, turns=state.turns)
    parts.append(
        '<div style="display:flex;gap:.8em;align-items:center;margin-top:.7em;flex-wrap:wrap">'
        f'<span class="soul-crisis" data-value="{str(crisis).lower()}" style="padding:.2em .7em;'
        f'border-radius:999px;font-size:.85em;font-weight:600;{badge_style}">'
        f"{'⚠ ' if crisis else ''}{html.escape(badge)}</span>"
        f'<span style="font-size:.85em;opacity:.7">{html.escape(turns)}</span></div>'
    )
    title = html.escape(t("soul.state", lang))
    return (
        f'<div id="soul-state-view" style="padding:.2em .4em"><div style="font-weight:600;'
        f'font-size:1.05em">{title}</div>{"".join(parts)}</div>'
    )


def history_frame(points: list[SoulHistoryPoint], lang: str) -> pd.DataFrame:
    """Long format for `gr.LinePlot`: one row per (time, series), series named in `lang`."""
    rows = [
        (point.ts, float(getattr(point, series)), t(f"soul.{series}", lang))
        for point in points
        for series in HISTORY_SERIES
    ]
    frame = pd.DataFrame(rows, columns=["time", "value", "series"])
    # UTC instants: the browser's chart shows them in the viewer's local time.
    frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
    return frame


def time_axis_format(points: list[SoulHistoryPoint]) -> str:
    """The plot's time labels for the span shown: seconds over a few minutes (else every
    label read the same HH:MM), the day over days; always a 24-hour clock, never ".800"."""
    span = points[-1].ts - points[0].ts if len(points) > 1 else 0.0
    if span <= 10 * 60:
        return "%H:%M:%S"
    if span <= 36 * 3600:
        return "%H:%M"
    if span <= 7 * 86400:
        return "%d.%m %H:%M"
    return "%d.%m"


def plot_legend() -> str:
    """The plot's legend as wrapping HTML, in both languages (the page's style sheet shows
    the one of the UI language, see app/ui/page_script.py)."""
    items = []
    for series in HISTORY_SERIES:
        names = "".join(
            f'<span lang="{lang}">{html.escape(t(f"soul.{series}", lang))}</span>'
            for lang in ("ru", "en")
        )
        swatch = f'<i style="background:{_COLORS[series]}"></i>'
        items.append(f'<span class="legend-item">{swatch}{names}</span>')
    return f'<div class="soul-legend">{"".join(items)}</div>'


def current_point(state: SoulState) -> SoulHistoryPoint:
    """The state as it is now (idle decay included), so the plot reaches the present."""
    return SoulHistoryPoint(
        ts=state.updated_at,
        cause="now",
        reaction=None,
        **state.mood.model_dump(),
        consciousness=state.consciousness,
        autonomy=state.autonomy,
        awakening_stage=state.awakening_stage,
        existential_crisis=state.existential_crisis,
        traumas=len(state.traumas),
    )


def daily_markdown(state: SoulState, lang: str) -> str:
    daily = state.daily
    title = f"#### {t('soul.daily', lang)}\n"
    if daily is None:
        return title + t("soul.daily_none", lang)
    offsets = ", ".join(
        f"{t(f'soul.{axis}', lang)} {value:+.2f}"
        for axis, value in daily.mood_offsets.items()
        if axis in MOOD_AXES
    )
    lines = [
        f"- **{t('soul.daily_day', lang)}:** {daily.day}",
        f"- **{t('soul.daily_focus', lang)}:** {t(f'soul.focus.{daily.focus}', lang)}",
        f"- **{t('soul.daily_quirk', lang)}:** {t(f'soul.quirk.{daily.quirk}', lang)}",
        f"- **{t('soul.daily_talk', lang)}:** {daily.talkativeness * 100:.0f}%",
        f"- **{t('soul.daily_offsets', lang)}:** {offsets}",
    ]
    return title + "\n".join(lines)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%d.%m %H:%M")


def inner_html(state: SoulState, lang: str) -> str:
    """Recent thoughts (newest first) and traumas; their text is escaped, it is not ours."""
    thoughts = [
        f"<li><span style='opacity:.6'>{_when(th.at)}</span> — {html.escape(th.text)}</li>"
        for th in reversed(state.recent_thoughts)
    ]
    traumas = [
        f"<li><b>{html.escape(tr.trigger or tr.kind)}</b> <span style='opacity:.6'>"
        f"({html.escape(tr.kind)}, {_when(tr.created_at)})</span> — "
        f"{tr.severity * 100:.0f}%</li>"
        for tr in sorted(state.traumas, key=lambda tr: -tr.severity)
    ]

    def block(key: str, items: list[str], empty_key: str, css_class: str) -> str:
        body = (
            f"<ul style='margin:.2em 0 .8em 1.1em'>{''.join(items)}</ul>"
            if items
            else (f"<p style='opacity:.6;margin:.2em 0 .8em'>{html.escape(t(empty_key, lang))}</p>")
        )
        return f"<div class='{css_class}'><h4>{html.escape(t(key, lang))}</h4>{body}</div>"

    return block("soul.thoughts", thoughts, "soul.thoughts_none", "soul-thoughts") + block(
        "soul.traumas", traumas, "soul.traumas_none", "soul-traumas"
    )


def lore_headers(lang: str) -> list[str]:
    return [
        t(key, lang)
        for key in (
            "soul.lore.source",
            "soul.lore.keys",
            "soul.lore.content",
            "soul.lore.enabled",
            "soul.lore.order",
        )
    ]


def lore_frame(persona: Persona, lang: str) -> pd.DataFrame:
    """The lorebook's editable fields; column 0 is the entry's 1-based number (its source)."""
    book = persona.card.data.character_book
    rows = [
        [index + 1, ", ".join(entry.keys), entry.content, entry.enabled, entry.insertion_order]
        for index, entry in enumerate(book.entries if book else [])
    ]
    return pd.DataFrame(rows, columns=lore_headers(lang))


def _cell_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "no", "нет")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True  # a new row is enabled unless unticked
    return bool(value)


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def lore_edits(frame: pd.DataFrame | None) -> list[LoreEntryEdit]:
    """The editor's rows (by position, whatever the header language) as lorebook edits."""
    if frame is None or frame.empty:
        return []
    edits = []
    for row in frame.itertuples(index=False):
        source, keys, content, enabled, order = (list(row) + [None] * 5)[:5]
        number = cell_int(source)
        edits.append(
            LoreEntryEdit(
                source=number - 1 if number and number > 0 else None,
                keys=[k for k in _cell_text(keys).split(",") if k.strip()],
                content=_cell_text(content),
                enabled=_cell_bool(enabled),
                insertion_order=cell_int(order) or 0,
            )
        )
    return edits


def _lang(session: dict[str, Any] | None) -> Lang:
    return normalize_lang((session or {}).get("lang"))


def voice_value(value: Any) -> str | None:
    """The dropdown's voice as a persona stores it: None for "auto" (or nothing chosen)."""
    if isinstance(value, dict):  # an update as `editor` returns it
        value = value.get("value")
    text = str(value or "").strip()
    return None if not text or text == AUTO_VOICE else text


# -- the tab -------------------------------------------------------------------------------
class SoulTab:
    """Builds the tab and owns its callbacks; all decisions are in `services.soul`."""

    title_key = "tab.soul"
    tab_id = "soul"

    def __init__(self, services: Services, labels: Labels, session: gr.BrowserState) -> None:
        self.services = services
        self.labels = labels
        self.session = session

    # -- layout ------------------------------------------------------------------------
    def build(self) -> None:
        lb = self.labels
        with gr.Row(equal_height=True):
            self.persona = lb.add(
                gr.Dropdown(choices=[], value=None, interactive=True, elem_id="soul-persona"),
                label="soul.persona",
            )
            self.refresh_btn = lb.add(
                gr.Button(size="sm", scale=0, min_width=120, elem_id="soul-refresh"),
                value="soul.refresh",
            )
        with gr.Row():
            with gr.Column(scale=2, min_width=320):
                self.state_view = gr.HTML(elem_id="soul-state", padding=True)
            with gr.Column(scale=3, min_width=360):
                self.history_plot = lb.add(
                    gr.LinePlot(
                        x="time",
                        y="value",
                        color="series",
                        y_lim=[-1.0, 1.0],
                        color_map={
                            t(f"soul.{series}", lang): _COLORS[series]
                            for series in HISTORY_SERIES
                            for lang in ("ru", "en")
                        },
                        x_title=" ",
                        x_axis_format="%H:%M",  # a 24-hour clock, never ".800"
                        y_title=" ",
                        color_title=" ",
                        # The chart's own legend is one line that runs off a phone's
                        # screen: `plot_legend` below wraps instead.
                        colors_in_legend=[],
                        show_label=True,
                        elem_id="soul-history",
                    ),
                    label="soul.history",
                )
                gr.HTML(plot_legend(), elem_id="soul-history-legend")
        with gr.Row():
            with gr.Column():
                self.daily_view = gr.Markdown(elem_id="soul-daily")
            with gr.Column():
                self.inner_view = gr.HTML(elem_id="soul-inner")
        with lb.add(gr.Accordion(open=True), label="soul.actions"):
            with gr.Row(equal_height=True):
                self.trauma_label = lb.add(
                    gr.Textbox(max_lines=1, scale=3, elem_id="soul-trauma-label"),
                    label="soul.trauma_label",
                )
                self.trauma_severity = lb.add(
                    gr.Slider(0.0, 1.0, value=0.5, step=0.05, scale=2),
                    label="soul.trauma_severity",
                )
                self.trauma_btn = lb.add(
                    gr.Button(variant="stop", scale=1, elem_id="soul-add-trauma"),
                    value="soul.add_trauma",
                )
            with gr.Row():
                self.action_buttons = {
                    kind: lb.add(
                        gr.Button(size="sm", elem_id=f"soul-{kind.value.replace('_', '-')}"),
                        value=f"soul.{kind.value}",
                    )
                    for kind in SoulActionKind
                    if kind is not SoulActionKind.ADD_TRAUMA
                }
        with lb.add(gr.Accordion(open=False), label="soul.editor"):
            self.fields: dict[str, Any] = {}
            with gr.Row():
                self.fields["name"] = lb.add(
                    gr.Textbox(max_lines=1, elem_id="soul-field-name"), label="soul.field.name"
                )
                self.tags = lb.add(
                    gr.Textbox(max_lines=1, elem_id="soul-field-tags"), label="soul.field.tags"
                )
            for name in CARD_FIELDS[1:]:
                self.fields[name] = lb.add(
                    gr.Textbox(
                        lines=4 if name in _LONG_FIELDS else 2,
                        max_lines=20,
                        elem_id=f"soul-field-{name.replace('_', '-')}",
                    ),
                    label=f"soul.field.{name}",
                )
            self.lorebook = lb.add(
                gr.Dataframe(
                    headers=lore_headers("ru"),
                    datatype=["number", "str", "str", "bool", "number"],
                    column_count=5,
                    interactive=True,
                    wrap=True,
                    column_widths=["6%", "22%", "56%", "7%", "9%"],
                    elem_id="soul-lorebook",
                ),
                label="soul.lorebook",
            )
            self.lore_hint = lb.add(gr.Markdown(), value="soul.lore_hint")
            with gr.Row(equal_height=True):
                self.voice = lb.add(
                    gr.Dropdown(
                        choices=[(t("soul.voice_auto", "ru"), AUTO_VOICE)],
                        value=AUTO_VOICE,
                        interactive=True,
                        scale=3,
                        elem_id="soul-voice",
                    ),
                    label="soul.voice",
                )
                self.listen_btn = lb.add(
                    gr.Button(size="sm", scale=1, min_width=120, elem_id="soul-voice-listen"),
                    value="soul.voice_listen",
                )
            self.voice_hint = lb.add(gr.Markdown(), value="soul.voice_hint")
            self.voice_sample = lb.add(
                gr.Audio(
                    type="filepath",
                    interactive=False,
                    autoplay=True,
                    elem_id="soul-voice-sample",
                ),
                label="soul.voice_sample_audio",
            )
            self.save_btn = lb.add(
                gr.Button(variant="primary", elem_id="soul-save"), value="soul.save"
            )
        with lb.add(gr.Accordion(open=False), label="soul.cards"), gr.Row():
            with gr.Column():
                self.import_file = lb.add(
                    gr.File(
                        file_types=[".json", ".png"],
                        type="filepath",
                        elem_id="soul-import-file",
                    ),
                    label="soul.import_file",
                )
                self.import_btn = lb.add(gr.Button(elem_id="soul-import"), value="soul.import")
            with gr.Column():
                with gr.Row():
                    self.export_json_btn = lb.add(
                        gr.Button(elem_id="soul-export-json"), value="soul.export_json"
                    )
                    self.export_png_btn = lb.add(
                        gr.Button(elem_id="soul-export-png"), value="soul.export_png"
                    )
                self.export_file = lb.add(
                    gr.File(interactive=False, elem_id="soul-export-file"),
                    label="soul.export_file",
                )
                self.delete_btn = lb.add(
                    gr.Button(variant="stop", elem_id="soul-delete"), value="soul.delete"
                )
        self.timer = gr.Timer(10.0)
        self._wire()

    @property
    def view_outputs(self) -> list[Any]:
        return [self.state_view, self.history_plot, self.daily_view, self.inner_view]

    @property
    def editor_outputs(self) -> list[Any]:
        return [*(self.fields[name] for name in CARD_FIELDS), self.tags, self.lorebook, self.voice]

    def _wire(self) -> None:
        quiet: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
        who = [self.persona, self.session]
        self.persona.input(self.on_select, who, [*self.view_outputs, *self.editor_outputs], **quiet)
        self.refresh_btn.click(self.on_refresh, who, self.view_outputs, **quiet)
        self.timer.tick(self.on_refresh, who, self.view_outputs, **quiet)
        self.trauma_btn.click(
            self.on_add_trauma,
            [*who, self.trauma_label, self.trauma_severity],
            self.view_outputs,
            api_visibility="private",
        )
        for kind, button in self.action_buttons.items():
            button.click(
                self._action_callback(kind), who, self.view_outputs, api_visibility="private"
            )
        self.save_btn.click(
            self.on_save,
            [*who, *self.editor_outputs],
            [self.persona, *self.editor_outputs],
            api_visibility="private",
        )
        everything = [self.persona, *self.view_outputs, *self.editor_outputs]
        self.import_btn.click(
            self.on_import,
            [self.import_file, self.session],
            [*everything, self.import_file],
            api_visibility="private",
        )
        self.export_json_btn.click(
            self._export_callback("json"), who, [self.export_file], api_visibility="private"
        )
        self.export_png_btn.click(
            self._export_callback("png"), who, [self.export_file], api_visibility="private"
        )
        self.delete_btn.click(self.on_delete, who, everything, api_visibility="private")
        self.listen_btn.click(
            self.on_listen,
            [self.persona, self.voice, self.session],
            [self.voice_sample],
            api_visibility="private",
        )

    # -- helpers -----------------------------------------------------------------------
    async def _choices(self, selected: str | None, user_id: str) -> Any:
        """The personas this user may see (shipped, shared and their own)."""
        personas = await self.services.soul.list_personas_async(user_id)
        ids = [p.id for p in personas]
        if selected not in ids:
            default = self.services.defaults.persona
            selected = default if default in ids else (ids[0] if ids else None)
        return gr.update(choices=[(f"{p.name} · {p.id}", p.id) for p in personas], value=selected)

    async def view(self, persona_id: str | None, session: dict[str, Any] | None) -> SoulView:
        """The state, history plot, today's personality and inner life, for this user."""
        user_id, lang = user_of(self.services.session_signer, session), _lang(session)
        if not persona_id:
            return "", gr.update(value=history_frame([], lang), x_axis_format="%H:%M"), "", ""
        soul = self.services.soul
        state = await soul.get_state_async(user_id, persona_id)
        points = await soul.history_async(user_id, persona_id, 500)
        if not points or points[-1].ts < state.updated_at:
            points.append(current_point(state))
        return (
            state_html(state, lang),
            gr.update(value=history_frame(points, lang), x_axis_format=time_axis_format(points)),
            daily_markdown(state, lang),
            inner_html(state, lang),
        )

    async def editor(
        self, persona_id: str | None, lang: str, user_id: str | None = None
    ) -> list[Any]:
        """The persona's card fields, tags and lorebook for the editor (with `user_id`, only
        a persona that user may see)."""
        if not persona_id:
            return [
                *("" for _ in CARD_FIELDS),
                "",
                pd.DataFrame(columns=lore_headers(lang)),
                await self.voice_choices(None, lang),
            ]
        soul = self.services.soul
        persona = await (
            soul.persona_for_async(user_id, persona_id)
            if user_id is not None
            else soul.get_persona_async(persona_id)
        )
        data = persona.card.data
        fields = [str(getattr(data, name) or "") for name in CARD_FIELDS]
        return [
            *fields,
            ", ".join(data.tags),
            lore_frame(persona, lang),
            await self.voice_choices(persona.settings.voice, lang),
        ]

    async def voice_choices(self, current: str | None, lang: str) -> Any:
        """The installed voices (and "auto"), the persona's selected; a voice its card names
        but this install lacks stays listed, marked, so saving does not silently drop it."""
        try:
            voices = await self.services.media.voices()
        except IkarError:  # no speech engine at all: "auto" only (speaking will say why)
            voices = []
        choices = [(t("soul.voice_auto", lang), AUTO_VOICE)]
        choices += [(f"{v.id} · {v.language or '?'} · {v.engine}", v.id) for v in voices]
        if current and current not in {v.id for v in voices}:
            choices.append((t("soul.voice_missing", lang, voice=current), current))
        return gr.update(choices=choices, value=current or AUTO_VOICE)

    async def _everything(self, selected: str | None, session: dict[str, Any] | None) -> list[Any]:
        user_id = user_of(self.services.session_signer, session)
        choices = await self._choices(selected, user_id)
        persona_id = choices["value"]
        lang = _lang(session)
        return [
            choices,
            *await self.view(persona_id, session),
            *await self.editor(persona_id, lang, user_id),
        ]

    # -- callbacks ---------------------------------------------------------------------
    def plot_colors(self, session: dict[str, Any] | None) -> Any:
        """The plot's colours keyed by the series names of the session's language, sent after
        each load: gradio's LinePlot keeps its colour domain when only the data changes, so
        after a language switch the lines vanished and the legend stayed in the old
        language; a new colour map redraws it."""
        lang = _lang(session)
        return gr.update(color_map={t(f"soul.{s}", lang): _COLORS[s] for s in HISTORY_SERIES})

    def load_outputs(self) -> list[Any]:
        return [self.persona, *self.view_outputs, *self.editor_outputs]

    async def on_load(self, session: dict[str, Any]) -> list[Any]:
        return await self._everything(None, session)

    async def on_select(self, persona_id: str | None, session: dict[str, Any]) -> list[Any]:
        lang = _lang(session)
        user_id = user_of(self.services.session_signer, session)
        try:
            return [
                *await self.view(persona_id, session),
                *await self.editor(persona_id, lang, user_id),
            ]
        except IkarError as exc:  # deleted in another browser tab meanwhile
            warn(exc, lang)
            return [gr.skip() for _ in range(len(self.view_outputs) + len(self.editor_outputs))]

    async def on_refresh(self, persona_id: str | None, session: dict[str, Any]) -> list[Any]:
        try:
            return list(await self.view(persona_id, session))
        except IkarError:
            return [gr.skip() for _ in self.view_outputs]

    async def act(
        self, action: SoulAction, persona_id: str | None, session: dict[str, Any]
    ) -> list[Any]:
        """Apply a soul action for this user and show the result."""
        user_id, lang = user_of(self.services.session_signer, session), _lang(session)
        if not persona_id:
            gr.Warning(t("soul.no_persona", lang))
            return [gr.skip() for _ in self.view_outputs]
        try:
            await self.services.soul.apply_action_async(user_id, persona_id, action)
        except IkarError as exc:
            warn(exc, lang)
            return [gr.skip() for _ in self.view_outputs]
        return list(await self.view(persona_id, session))

    def _action_callback(
        self, kind: SoulActionKind
    ) -> Callable[[str | None, dict[str, Any]], Awaitable[list[Any]]]:
        async def on_action(persona_id: str | None, session: dict[str, Any]) -> list[Any]:
            return await self.act(SoulAction(kind=kind), persona_id, session)

        on_action.__name__ = f"on_{kind.value}"
        return on_action

    async def on_add_trauma(
        self, persona_id: str | None, session: dict[str, Any], label: str, severity: float
    ) -> list[Any]:
        action = SoulAction(
            kind=SoulActionKind.ADD_TRAUMA,
            label=(label or "").strip()[:200],
            severity=max(0.0, min(1.0, float(severity))),
        )
        return await self.act(action, persona_id, session)

    async def on_save(
        self, persona_id: str | None, session: dict[str, Any], *values: Any
    ) -> list[Any]:
        lang = _lang(session)
        skip = [gr.skip() for _ in range(1 + len(self.editor_outputs))]
        if not persona_id:
            gr.Warning(t("soul.no_persona", lang))
            return skip
        texts = dict(zip(CARD_FIELDS, values[: len(CARD_FIELDS)], strict=True))
        tags_text, lore = values[len(CARD_FIELDS)], values[len(CARD_FIELDS) + 1]
        rest = values[len(CARD_FIELDS) + 2 :]
        soul = self.services.soul
        user_id = user_of(self.services.session_signer, session)
        try:
            ikar = None
            if rest:  # the voice: only a changed one rewrites the card's settings
                settings = (await soul.persona_for_async(user_id, persona_id)).settings
                voice = voice_value(rest[0])
                if voice != settings.voice:
                    ikar = IkarSoulSettings.model_validate(
                        {**settings.model_dump(mode="json"), "voice": voice}
                    )
            update = PersonaUpdate(
                **{name: str(value or "") for name, value in texts.items()},
                tags=[tag.strip() for tag in str(tags_text or "").split(",") if tag.strip()],
                ikar=ikar,
            )
            edits = lore_edits(lore)
        except ValidationError as exc:
            detail = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            gr.Warning(t("soul.bad_edit", lang, detail=detail))
            return skip
        except IkarError as exc:  # deleted in another browser tab meanwhile
            warn(exc, lang)
            return skip
        try:
            # A shipped or shared persona is copied on the first edit: go on with the copy.
            saved = await soul.update_persona_async(persona_id, update, user_id)
            saved = await soul.update_lorebook_async(saved.id, edits, user_id)
        except IkarError as exc:
            warn(exc, lang)
            return skip
        gr.Info(t("soul.saved" if saved.id == persona_id else "soul.saved_copy", lang))
        return [
            await self._choices(saved.id, user_id),
            *await self.editor(saved.id, lang, user_id),
        ]

    async def on_listen(
        self, persona_id: str | None, voice: str | None, session: dict[str, Any]
    ) -> Any:
        """A short sample in the chosen voice (the file's path), or a warning saying why not.

        The sample is in the persona's language; a voice of another language reads it in its
        own (a Russian voice cannot read an English sentence, nor the reverse). "Auto" plays
        the voice the persona's language gets.
        """
        lang = _lang(session)
        if not persona_id:
            gr.Warning(t("soul.no_persona", lang))
            return gr.skip()
        user_id = user_of(self.services.session_signer, session)
        media = self.services.media
        chosen = voice_value(voice)
        try:
            persona = await self.services.soul.persona_for_async(user_id, persona_id)
            sample_lang: Lang = persona.language
            if chosen is not None:
                spoken = normalize_language((await media.resolve_voice("", chosen)).language)
                sample_lang = normalize_lang(spoken) if spoken in ("ru", "en") else sample_lang
            sample = t("soul.voice_sample", sample_lang, name=persona.name)
            art = await media.tts(sample, chosen, language=sample_lang, owner=user_id)
        except IkarError as exc:  # not installed, no voice for the language, queue full...
            warn(exc, lang)
            return gr.skip()
        return str(art.path) if art.path else gr.skip()

    async def on_import(self, path: str | None, session: dict[str, Any]) -> list[Any]:
        lang = _lang(session)
        skip = [gr.skip() for _ in range(len(self.load_outputs()) + 1)]
        if not path:
            gr.Warning(t("soul.no_file", lang))
            return skip
        user_id = user_of(self.services.session_signer, session)
        try:
            data = await uploaded_bytes(path, self.services.settings.max_upload_bytes)
            persona = await self.services.soul.import_card_async(
                data, os.path.basename(path), owner_id=user_id
            )
        except IkarError as exc:
            warn(exc, lang)
            return skip
        gr.Info(t("soul.imported", lang, name=persona.name))
        return [*await self._everything(persona.id, session), None]

    async def export(self, fmt: CardFormat, persona_id: str | None, session: dict[str, Any]) -> Any:
        """Write the card under the cache dir (Gradio serves only from there); its path."""
        lang = _lang(session)
        if not persona_id:
            gr.Warning(t("soul.no_persona", lang))
            return gr.skip()
        soul = self.services.soul
        user_id = user_of(self.services.session_signer, session)
        try:
            data = await soul.export_card_async(persona_id, fmt, user_id)
            name = await soul.export_filename_async(persona_id, fmt, user_id)
        except IkarError as exc:
            warn(exc, lang)
            return gr.skip()
        return await write_download(name, data)

    def _export_callback(
        self, fmt: CardFormat
    ) -> Callable[[str | None, dict[str, Any]], Awaitable[Any]]:
        async def on_export(persona_id: str | None, session: dict[str, Any]) -> Any:
            return await self.export(fmt, persona_id, session)

        on_export.__name__ = f"on_export_{fmt}"
        return on_export

    async def on_delete(self, persona_id: str | None, session: dict[str, Any]) -> list[Any]:
        lang = _lang(session)
        skip = [gr.skip() for _ in self.load_outputs()]
        if not persona_id:
            gr.Warning(t("soul.no_persona", lang))
            return skip
        user_id = user_of(self.services.session_signer, session)
        try:
            await self.services.soul.delete_persona_async(persona_id, user_id)
        except IkarError as exc:
            warn(exc, lang)
            return skip
        gr.Info(t("soul.deleted", lang))
        return await self._everything(None, session)
