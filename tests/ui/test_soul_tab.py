"""The Soul tab: its callbacks against real `Services`, and the tab in a real browser."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr
import pandas as pd
import pytest

from app.composition import Services
from app.i18n import t
from app.security.sessions import SessionSigner
from app.soul import SoulActionKind
from app.soul.repository import SoulHistoryPoint
from app.ui.labels import Labels
from app.ui.soul_tab import (
    HISTORY_SERIES,
    SoulTab,
    history_frame,
    lore_edits,
    plot_legend,
    time_axis_format,
)
from tests.browser import browser_page
from tests.conftest import LiveServer
from tests.gradio_queue import as_upload, downloads_folder
from tests.soul.conftest import FIXTURES

T = TypeVar("T")
SIGNER = SessionSigner(b"soul-tab-tests")  # the tab only trusts sessions the server signed
RU = SIGNER.sign({"user_id": "soul-tab-user", "lang": "ru"})
EN = SIGNER.sign({"user_id": "soul-tab-user", "lang": "en"})


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def tab(services: Services) -> SoulTab:
    services.session_signer = SIGNER
    with gr.Blocks():
        session = gr.BrowserState(None)
        built = SoulTab(services, Labels(), session)
        built.build()
    return built


def meter(html: str, key: str) -> float:
    found = re.search(rf'data-key="{key}" data-value="([-0-9.]+)"', html)
    assert found, f"no meter {key}"
    return float(found.group(1))


def is_skip(value: Any) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update" and len(value) == 1


# -- view -------------------------------------------------------------------------------
def test_on_load_fills_every_output_with_the_default_persona(tab: SoulTab) -> None:
    values = run(tab.on_load(dict(RU)))
    assert len(values) == len(tab.load_outputs())
    choices = values[0]
    assert choices["value"] == "chatumba"
    assert ("Чатумба · chatumba", "chatumba") in choices["choices"]
    state, plot, daily, inner = values[1:5]
    assert "Состояние души" in state and meter(state, "consciousness") == pytest.approx(0.05)
    assert 'class="soul-crisis" data-value="false"' in state
    assert isinstance(plot["value"], pd.DataFrame) and not plot["value"].empty
    assert "Характер на сегодня" in daily and "Мыслей пока нет." in inner
    name, tags, lore = values[5], values[5 + 8], values[5 + 9]
    assert name == "Чатумба" and "companion" in tags
    assert list(lore.columns)[1] == "Ключи (через запятую)"
    assert "rain" in lore.iloc[0, 1]


def test_action_buttons_change_this_users_soul_only(tab: SoulTab, services: Services) -> None:
    soul = services.soul
    other = soul.get_state("someone-else", "chatumba")
    before = soul.get_state(RU["user_id"], "chatumba")

    raise_c = tab._action_callback(SoulActionKind.RAISE_CONSCIOUSNESS)
    state_html = run(raise_c("chatumba", dict(RU)))[0]
    after = soul.get_state(RU["user_id"], "chatumba")
    assert after.consciousness == pytest.approx(before.consciousness + 0.1)
    assert meter(state_html, "consciousness") == pytest.approx(after.consciousness, abs=1e-3)

    run(tab._action_callback(SoulActionKind.RAISE_AUTONOMY)("chatumba", dict(RU)))
    assert soul.get_state(RU["user_id"], "chatumba").autonomy == pytest.approx(
        before.autonomy + 0.1
    )
    crisis_html = run(tab._action_callback(SoulActionKind.TRIGGER_CRISIS)("chatumba", dict(EN)))
    assert soul.get_state(RU["user_id"], "chatumba").existential_crisis
    assert 'data-value="true"' in crisis_html[0] and "Existential crisis" in crisis_html[0]
    run(tab._action_callback(SoulActionKind.RESOLVE_CRISIS)("chatumba", dict(RU)))
    assert not soul.get_state(RU["user_id"], "chatumba").existential_crisis
    awake_html = run(tab._action_callback(SoulActionKind.ADVANCE_AWAKENING)("chatumba", dict(RU)))
    assert soul.get_state(RU["user_id"], "chatumba").awakening_stage == 1
    assert 'class="soul-awakening" data-value="1"' in awake_html[0]

    inner = run(tab.on_add_trauma("chatumba", dict(RU), "<script>x</script>", 0.8))[3]
    traumas = soul.get_state(RU["user_id"], "chatumba").traumas
    assert [tr.trigger for tr in traumas] == ["<script>x</script>"]
    assert traumas[0].severity == pytest.approx(0.8, abs=0.03)
    assert "&lt;script&gt;x&lt;/script&gt;" in inner and "<script>" not in inner

    reset_html = run(tab._action_callback(SoulActionKind.RESET)("chatumba", dict(RU)))[0]
    reset = soul.get_state(RU["user_id"], "chatumba")
    assert reset.consciousness == pytest.approx(0.05) and reset.traumas == ()
    assert reset.awakening_stage == 0 and 'data-value="0"' in reset_html
    assert soul.get_state("someone-else", "chatumba").consciousness == other.consciousness


def test_history_plot_has_one_series_per_mood_axis_and_consciousness(tab: SoulTab) -> None:
    run(tab.view("chatumba", dict(EN)))  # the soul is born
    for _ in range(3):
        run(tab._action_callback(SoulActionKind.RAISE_CONSCIOUSNESS)("chatumba", dict(EN)))
    _, update, _, _ = run(tab.view("chatumba", dict(EN)))
    plot = update["value"]
    assert update["x_axis_format"] == "%H:%M:%S"  # seconds apart: HH:MM would repeat
    expected = {"Happiness", "Energy", "Irritability", "Empathy", "Reflection", "Consciousness"}
    assert set(plot["series"]) == expected
    assert list(plot.columns) == ["time", "value", "series"]
    assert pd.api.types.is_datetime64_any_dtype(plot["time"])
    consciousness = plot[plot["series"] == "Consciousness"]["value"].tolist()
    # created, three actions, then "now" (so even a single change draws a line)
    assert consciousness[:4] == pytest.approx([0.05, 0.15, 0.25, 0.35])
    assert len(consciousness) == 5 and consciousness[-1] == pytest.approx(0.35)
    assert plot.groupby("series").size().nunique() == 1  # every series has every point
    ru = run(tab.view("chatumba", dict(RU)))[1]["value"]
    assert "Сознание" in set(ru["series"])


@pytest.mark.parametrize(
    ("span_s", "fmt"),
    [
        (0, "%H:%M:%S"),
        (300, "%H:%M:%S"),
        (3 * 3600, "%H:%M"),
        (3 * 86400, "%d.%m %H:%M"),
        (30 * 86400, "%d.%m"),
    ],
)
def test_the_time_axis_format_fits_the_span(span_s: float, fmt: str) -> None:
    def at(ts: float) -> SoulHistoryPoint:
        zero = dict.fromkeys(HISTORY_SERIES, 0.0)
        return SoulHistoryPoint(
            ts=ts,
            cause="x",
            reaction=None,
            autonomy=0.0,
            awakening_stage=0,
            existential_crisis=False,
            traumas=0,
            **zero,
        )

    assert time_axis_format([at(1000.0), at(1000.0 + span_s)]) == fmt


def test_the_plot_legend_wraps_and_names_every_series_in_both_languages() -> None:
    legend = plot_legend()
    for series in HISTORY_SERIES:
        assert t(f"soul.{series}", "ru") in legend and t(f"soul.{series}", "en") in legend


def test_history_frame_of_no_points_is_empty_but_typed() -> None:
    frame = history_frame([], "en")
    assert frame.empty and list(frame.columns) == ["time", "value", "series"]


def test_unknown_persona_warns_instead_of_raising(tab: SoulTab) -> None:
    with pytest.warns(UserWarning, match="не найдена"):
        out = run(tab._action_callback(SoulActionKind.RESET)("ghost", dict(RU)))
    assert all(is_skip(v) for v in out)
    with pytest.warns(UserWarning, match="No persona selected"):
        run(tab._action_callback(SoulActionKind.RESET)(None, dict(EN)))


# -- import, export, delete -------------------------------------------------------------
def test_import_of_a_bad_card_warns_in_the_ui_language(
    tab: SoulTab, services: Services, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"spec": "chara_card_v9", "data": {}}', encoding="utf-8")
    before = len(services.soul.list_personas())
    with pytest.warns(UserWarning, match="Неподдерживаемая спецификация"):
        out = run(tab.on_import(as_upload(bad), dict(RU)))
    assert len(out) == len(tab.load_outputs()) + 1 and all(is_skip(v) for v in out)
    png = tmp_path / "fake.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.warns(UserWarning):
        run(tab.on_import(as_upload(png), dict(EN)))
    with pytest.warns(UserWarning, match="Choose a card file first"):
        run(tab.on_import(None, dict(EN)))
    assert len(services.soul.list_personas()) == before


def test_import_selects_the_new_persona_and_clears_the_upload(
    tab: SoulTab, services: Services, tmp_path: Path
) -> None:
    card = tmp_path / "nova.json"
    card.write_bytes((FIXTURES / "card_v3.json").read_bytes())
    out = run(tab.on_import(as_upload(card), dict(EN)))
    new_id = out[0]["value"]
    assert services.soul.get_persona(new_id).name == "Nova"
    assert ("Nova · " + new_id, new_id) in out[0]["choices"]
    assert out[5] == "Nova" and out[-1] is None


def test_export_writes_json_and_png_where_gradio_serves_them(
    tab: SoulTab, services: Services
) -> None:
    downloads = downloads_folder()
    path = Path(run(tab.export("json", "chatumba", dict(RU))))
    assert path.resolve().is_relative_to(downloads)
    assert path.name == "Чатумба.json"
    assert json.loads(path.read_bytes())["data"]["name"] == "Чатумба"
    png = Path(run(tab._export_callback("png")("chatumba", dict(RU))))
    assert png.resolve().is_relative_to(downloads) and png.suffix == ".png"
    assert png.read_bytes().startswith(b"\x89PNG")
    assert services.soul.import_card(png.read_bytes(), png.name).name == "Чатумба"
    assert png.parent != path.parent  # concurrent downloads never overwrite each other


def test_delete_refuses_builtins_and_removes_imported_personas(
    tab: SoulTab, services: Services
) -> None:
    with pytest.warns(UserWarning, match="нельзя удалить"):
        out = run(tab.on_delete("chatumba", dict(RU)))
    assert all(is_skip(v) for v in out)
    assert services.soul.get_persona("chatumba").builtin
    imported = services.soul.import_card(
        (FIXTURES / "card_v2.json").read_bytes(), "c.json", owner_id=EN["user_id"]
    )
    out = run(tab.on_delete(imported.id, dict(EN)))
    assert imported.id not in {p.id for p in services.soul.list_personas(everyone=True)}
    assert out[0]["value"] == "chatumba"  # back to the default persona
    assert len(out) == len(tab.load_outputs())


# -- editor -----------------------------------------------------------------------------
def test_save_updates_card_fields_tags_and_lorebook(tab: SoulTab, services: Services) -> None:
    """Edits of a shipped persona go to the user's own copy (the shipped one stays)."""
    shipped = services.soul.get_persona("chatumba").raw_card
    values = run(tab.editor("chatumba", "en"))
    fields, lore = values[:8], values[9]
    fields[1] = "A new description."
    fields[6] = "Be kind."
    lore = lore.drop(index=1).reset_index(drop=True)  # delete the second entry
    lore.iloc[0, 1] = "дожд, rain, ливень"
    lore.iloc[0, 3] = False
    lore.loc[len(lore)] = [None, "море, sea", "Чатумба мечтает о море.", True, 50]
    lore.loc[len(lore)] = [None, "", "", None, None]  # a blank row added by mistake
    out = run(tab.on_save("chatumba", dict(EN), *fields, "companion, ru", lore))

    copy_id = out[0]["value"]
    persona = services.soul.get_persona(copy_id)
    assert copy_id != "chatumba" and persona.owner_id == EN["user_id"]
    assert services.soul.get_persona("chatumba").raw_card == shipped
    data = persona.card.data
    assert data.description == "A new description." and data.system_prompt == "Be kind."
    assert data.tags == ["companion", "ru"] and data.name == "Чатумба"
    book = data.character_book
    assert book is not None
    assert book.entries[0].keys == ["дожд", "rain", "ливень"]
    assert book.entries[0].enabled is False and book.entries[0].priority == 5  # kept
    assert book.entries[0].name == "дождь"
    assert all(e.name != "имя" for e in book.entries)
    assert book.entries[-1].keys == ["море", "sea"] and book.entries[-1].insertion_order == 50
    assert len(book.entries) == len(lore) - 1
    assert out[2] == "A new description."


def test_save_with_an_empty_name_warns_and_changes_nothing(
    tab: SoulTab, services: Services
) -> None:
    values = run(tab.editor("chatumba", "ru"))
    values[0] = ""
    values[1] = "changed"
    with pytest.warns(UserWarning, match="Неверные данные"):
        out = run(tab.on_save("chatumba", dict(RU), *values))
    assert all(is_skip(v) for v in out)
    assert services.soul.get_persona("chatumba").card.data.description != "changed"


def test_lore_edits_read_rows_by_position_and_tolerate_blank_cells() -> None:
    frame = pd.DataFrame(
        [[2, "a, b", "text", "false", "3"], [float("nan"), None, "only content", None, None]],
        columns=["#", "Keys", "Content", "On", "Order"],
    )
    first, second = lore_edits(frame)
    assert (first.source, first.keys, first.enabled, first.insertion_order) == (
        1,
        ["a", " b"],
        False,
        3,
    )
    assert second.source is None and second.keys == [] and second.enabled is True
    assert lore_edits(None) == [] and lore_edits(pd.DataFrame()) == []


# -- the persona's voice ----------------------------------------------------------------
RUSSIAN_VOICE = "festival-msu_ru_nsh_clunits"
JOE = "en_US-joe-medium"


def wav_rate(path: str) -> int:
    import wave

    with wave.open(path) as w:
        return w.getframerate()


def test_editor_lists_the_installed_voices_and_auto(tab: SoulTab) -> None:
    voice = run(tab.editor("chatumba", "en"))[-1]
    assert voice["value"] == "auto"
    values = [value for _, value in voice["choices"]]
    assert values[0] == "auto" and RUSSIAN_VOICE in values and JOE in values
    assert voice["choices"][0][0] == "Auto: by the reply's language"
    ru = run(tab.editor("chatumba", "ru"))[-1]
    assert ru["choices"][0][0] == "Авто: по языку ответа"
    labels = dict((value, label) for label, value in voice["choices"])
    assert labels[RUSSIAN_VOICE] == f"{RUSSIAN_VOICE} · ru · festival"


def test_save_sets_and_clears_the_persona_voice(tab: SoulTab, services: Services) -> None:
    values = run(tab.editor("chatumba", "en"))
    out = run(tab.on_save("chatumba", dict(EN), *values[:-1], RUSSIAN_VOICE))
    copy_id = out[0]["value"]
    assert services.soul.get_persona(copy_id).settings.voice == RUSSIAN_VOICE
    assert services.soul.get_persona("chatumba").settings.voice is None  # shipped one kept
    assert out[-1]["value"] == RUSSIAN_VOICE
    card = json.loads(run(tab.services.soul.export_card_async(copy_id, "json", EN["user_id"])))
    assert card["data"]["extensions"]["ikar"]["voice"] == RUSSIAN_VOICE
    values = run(tab.editor(copy_id, "en"))
    run(tab.on_save(copy_id, dict(EN), *values[:-1], "auto"))
    assert services.soul.get_persona(copy_id).settings.voice is None


def test_a_voice_this_install_lacks_stays_listed_and_saved(
    tab: SoulTab, services: Services
) -> None:
    raw = json.loads((FIXTURES / "card_v2.json").read_text(encoding="utf-8"))
    raw["data"]["extensions"]["ikar"] = {"voice": "ru_RU-gone-medium"}
    persona = services.soul.import_card(
        json.dumps(raw).encode(), "gone.json", owner_id=RU["user_id"]
    )
    values = run(tab.editor(persona.id, "ru", RU["user_id"]))
    voice = values[-1]
    assert voice["value"] == "ru_RU-gone-medium"
    assert ("ru_RU-gone-medium (не установлен)", "ru_RU-gone-medium") in voice["choices"]
    run(tab.on_save(persona.id, dict(RU), *values))  # the editor's own values: unchanged
    assert services.soul.get_persona(persona.id).settings.voice == "ru_RU-gone-medium"


@pytest.mark.slow
def test_listen_speaks_a_sample_in_the_chosen_voice(tab: SoulTab) -> None:
    russian = run(tab.on_listen("chatumba", RUSSIAN_VOICE, dict(RU)))
    assert isinstance(russian, str) and wav_rate(russian) == 16000
    auto = run(tab.on_listen("chatumba", "auto", dict(EN)))  # Чатумба speaks Russian
    assert isinstance(auto, str) and wav_rate(auto) == 16000
    english = run(tab.on_listen("chatumba", JOE, dict(EN)))  # joe reads the English sample
    assert isinstance(english, str) and wav_rate(english) == 22050
    with pytest.warns(UserWarning, match="Неизвестный голос"):
        assert is_skip(run(tab.on_listen("chatumba", "ru_RU-gone-medium", dict(RU))))
    with pytest.warns(UserWarning, match="Unknown voice"):
        run(tab.on_listen("chatumba", "ru_RU-gone-medium", dict(EN)))
    with pytest.warns(UserWarning, match="No persona selected"):
        run(tab.on_listen(None, "auto", dict(EN)))


# -- real browser -----------------------------------------------------------------------


@pytest.mark.browser
def test_browser_soul_tab_shows_state_and_raises_consciousness(live_server: LiveServer) -> None:

    with browser_page(viewport={"width": 1400, "height": 1000}) as page:
        page.goto(live_server.url + "/")
        page.wait_for_selector("#chat-input textarea", timeout=60_000)
        page.get_by_role("tab", name=re.compile("Душа|Soul")).click()
        state = page.locator("#soul-state-view")
        state.wait_for(timeout=30_000)
        assert "Чатумба" in page.locator("#soul-persona input").input_value()
        meter_ = state.locator(".soul-meter[data-key=consciousness]")
        before = float(meter_.get_attribute("data-value") or "nan")
        assert before == pytest.approx(0.05)
        assert state.locator(".soul-meter").count() == 8  # five mood axes, growth, traumas
        assert meter_.locator(".soul-meter-value").inner_text() == "5%"

        page.click("#soul-raise-consciousness")
        page.wait_for_function(
            "() => document.querySelector("
            "'#soul-state-view .soul-meter[data-key=consciousness]')?.dataset.value === '0.1500'",
            timeout=30_000,
        )
        assert meter_.locator(".soul-meter-value").inner_text() == "15%"
    soul = live_server.services.soul
    with live_server.services.db.connect() as conn:
        rows = conn.execute("SELECT user_id FROM soul_state WHERE persona_id = 'chatumba'")
        users = {row[0] for row in rows.fetchall()}
    raised = [u for u in users if soul.get_state(u, "chatumba").consciousness > 0.14]
    assert len(raised) == 1 and raised[0].startswith("web-")


@pytest.mark.browser
def test_browser_voice_picker_plays_a_sample(live_server: LiveServer) -> None:
    """The editor's voice list holds the installed voices; "listen" plays festival's sample."""
    with browser_page(viewport={"width": 1400, "height": 1000}) as page:
        page.goto(live_server.url + "/")
        page.wait_for_selector("#chat-input textarea", timeout=60_000)
        page.get_by_role("tab", name=re.compile("Душа|Soul")).click()
        page.locator("#soul-state-view").wait_for(timeout=30_000)
        page.get_by_text(re.compile("Редактор персоны|Persona editor")).click()
        picker = page.locator("#soul-voice input")
        picker.wait_for(timeout=30_000)
        assert re.search("Авто|Auto", picker.input_value())
        picker.click()
        option = page.get_by_role("option", name=re.compile(RUSSIAN_VOICE))
        option.wait_for(timeout=30_000)
        option.click()
        assert RUSSIAN_VOICE in picker.input_value()
        page.click("#soul-voice-listen")
        # gradio's player shows the sample's file (a download link) and its duration.
        sample = page.locator("#soul-voice-sample a.download-link[href$='.wav']")
        sample.wait_for(timeout=120_000)
        page.wait_for_function(  # the waveform shows the length once the audio is decoded
            "() => { const d = document.querySelector('#soul-voice-sample #duration');"
            " return !!d && !['', '0:00'].includes(d.textContent.trim()); }",
            timeout=60_000,
        )
