"""The Memory tab: its callbacks against real `Services`, and the tab in a real browser."""

from __future__ import annotations

import asyncio
import json
import re
import stat
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr
import pandas as pd
import pytest

from app.composition import Services
from app.security.sessions import SessionSigner
from app.ui.labels import Labels
from app.ui.memory_tab import MemoryTab
from memory import MemoryFilter, MemoryItem
from tests.browser import browser_page
from tests.conftest import LiveServer
from tests.gradio_queue import as_upload, downloads_folder
from tests.waits import CATCH_UP_S

T = TypeVar("T")
USER = "memory-tab-user"
SIGNER = SessionSigner(b"memory-tab-tests")  # the tab only trusts sessions the server signed
RU = SIGNER.sign({"user_id": USER, "lang": "ru"})
EN = SIGNER.sign({"user_id": USER, "lang": "en"})
OTHER = SIGNER.sign({"user_id": "other", "lang": "en"})
STRANGER = SIGNER.sign({"user_id": "x", "lang": "ru"})
PLAIN_CHAT: list[dict[str, Any]] = [
    {
        "speaker": "me",
        "text": "I adore hiking in the Dolomites",
        "timestamp": "2024-03-05T10:00:00Z",
    },
    {"speaker": "Nova", "text": "Which trail is your favourite?", "timestamp": 1709633000},
    {"speaker": "me", "text": "The Tre Cime loop, every summer", "timestamp": 1709633060},
]


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def tab(services: Services) -> Iterator[MemoryTab]:
    services.session_signer = SIGNER
    services.memory.start()
    with gr.Blocks():
        session = gr.BrowserState(None)
        built = MemoryTab(services, Labels(), session)
        built.build()
    yield built


def is_skip(value: Any) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update" and len(value) == 1


def add(tab: MemoryTab, text: str, kind: str = "manual", pinned: bool = False) -> int:
    out = run(tab.on_add(text, kind, pinned, dict(EN)))
    assert out[0] == ""  # the box is cleared
    memory_id = out[1]
    assert isinstance(memory_id, int)
    return memory_id


def stored(services: Services, memory_id: int) -> MemoryItem:
    item = services.memory.get(memory_id, USER)
    assert item is not None
    return item


def select(tab: MemoryTab, table: pd.DataFrame, row: int) -> list[Any]:
    event = gr.SelectData(
        None, {"index": [row, 2], "value": "", "row_value": list(table.iloc[row])}
    )
    return run(tab.on_select(table, dict(EN), event))


# -- load -------------------------------------------------------------------------------
def test_on_load_fills_every_output_in_the_users_language(tab: MemoryTab) -> None:
    add(tab, "The user was born in Kazan")
    values = run(tab.on_load(dict(RU)))
    assert len(values) == len(tab.load_outputs())
    out = dict(zip(map(id, tab.load_outputs()), values, strict=True))
    persona = out[id(tab.persona)]
    assert ("Все персоны", "") in persona["choices"] and persona["value"] == ""
    assert ("Чатумба · chatumba", "chatumba") in persona["choices"]
    assert ("Гибридный", "hybrid") in out[id(tab.mode)]["choices"]
    listed = out[id(tab.list_table)]
    assert list(listed.columns)[:3] == ["№", "Тип", "Текст"]
    assert listed.iloc[0, 2] == "The user was born in Kazan" and listed.iloc[0, 1] == "Заметка"
    assert out[id(tab.page_info)] == "Показано 1–1 из 1"
    assert out[id(tab.selected)] is None
    assert list(out[id(tab.results)].columns)[1] == "Оценка"
    assert list(out[id(tab.profile_table)].columns)[:3] == ["№", "Тип", "Текст"]


def test_language_change_translates_choices_and_table_headers(tab: MemoryTab) -> None:
    add(tab, "The user drinks green tea")
    table, _, _ = run(tab.on_filter("", False, "", dict(RU)))
    results = pd.DataFrame(columns=["a"] * 8)
    out = run(tab.on_language(dict(EN), "ru", "chatumba", "", results, table))
    assert len(out) == len(tab.language_outputs)
    assert out[0] == "en" and out[1]["value"] == "chatumba"
    assert ("All personas", "") in out[1]["choices"]
    assert ("By meaning", "dense") in out[3]["choices"]
    assert ("allergy", "allergy") in out[7]["choices"]  # the profile's fact kinds
    assert list(out[8].columns)[:4] == ["ID", "Score", "Kind", "Said by"] and out[8].empty
    assert list(out[9].columns)[:3] == ["ID", "Kind", "Text"]
    assert out[9].iloc[0, 2] == "The user drinks green tea"
    assert list(out[10].columns) == ["ID", "Kind", "Text", "Source", "Pinned"]
    # the same language again (the session changed for another reason): nothing to do
    again = run(tab.on_language(dict(EN), "en", None, None, None, None))
    assert all(is_skip(v) for v in again)


# -- add, list, search ------------------------------------------------------------------
def test_added_memory_is_listed_and_found_by_search_with_a_score(
    tab: MemoryTab, services: Services
) -> None:
    tea = add(tab, "The user's favourite drink is jasmine green tea", kind="fact", pinned=True)
    add(tab, "The user has a cat called Mousie")
    run(
        tab.on_add(
            "someone else's secret",
            "manual",
            False,
            OTHER,
        )
    )
    item = services.memory.get(tea, USER)
    assert item is not None and item.kind == "fact" and item.pinned

    table, info, offset = run(tab.on_filter("", False, "", dict(EN)))
    assert info == "Showing 1–2 of 2" and offset == 0
    assert set(table["Text"]) == {
        "The user's favourite drink is jasmine green tea",
        "The user has a cat called Mousie",
    }
    facts, _, _ = run(tab.on_filter("fact", False, "", dict(EN)))
    assert list(facts["ID"]) == [tea] and list(facts["Kind"]) == ["Fact"]
    assert list(facts["Pinned"]) == ["★"]
    pinned, _, _ = run(tab.on_filter("", True, "", dict(EN)))
    assert list(pinned["ID"]) == [tea]
    cat, _, _ = run(tab.on_filter("", False, "Mousie", dict(EN)))
    assert list(cat["Text"]) == ["The user has a cat called Mousie"]

    assert services.memory.wait_until_indexed(CATCH_UP_S)
    for mode in ("hybrid", "dense", "keyword"):
        results, found = run(tab.on_search("jasmine tea", 5, mode, "", dict(EN)))
        assert results.iloc[0, 0] == tea, mode
        assert float(results.iloc[0, 1]) > 0 and results.iloc[0, 2] == "Fact"
        assert "secret" not in " ".join(results["Text"])  # another user's memory
        assert found.startswith("Memories found:")
    ru, _ = run(tab.on_search("jasmine tea", 1, "keyword", "", dict(RU)))
    assert list(ru.columns) == [
        "№",
        "Оценка",
        "Тип",
        "Кто сказал",
        "Текст",
        "Создано",
        "Закреплено",
        "Сообщения-источники",
    ]
    assert len(ru) == 1 and ru.iloc[0, 2] == "Факт"
    with pytest.warns(UserWarning, match="Type what to search for"):
        skipped = run(tab.on_search("   ", 5, "hybrid", "", dict(EN)))
    assert all(is_skip(v) for v in skipped)


def test_paging_moves_by_pages_and_stays_in_range(tab: MemoryTab, services: Services) -> None:
    from app.ui.memory_tab import PAGE_SIZE

    for n in range(PAGE_SIZE + 3):
        add(tab, f"note number {n}")
    first, info, offset = run(tab.on_filter("", False, "", dict(EN)))
    assert len(first) == PAGE_SIZE and offset == 0
    assert info == f"Showing 1–{PAGE_SIZE} of {PAGE_SIZE + 3}"
    second, info, offset = run(tab.on_next("", False, "", 0, dict(EN)))
    assert len(second) == 3 and offset == PAGE_SIZE
    assert not set(first["ID"]) & set(second["ID"])
    beyond, _, offset = run(tab.on_next("", False, "", offset, dict(EN)))
    assert offset == PAGE_SIZE and list(beyond["ID"]) == list(second["ID"])
    back, _, offset = run(tab.on_prev("", False, "", offset, dict(EN)))
    assert offset == 0 and list(back["ID"]) == list(first["ID"])
    assert run(tab.on_prev("", False, "", 0, dict(EN)))[2] == 0


def test_add_refuses_an_empty_text(tab: MemoryTab, services: Services) -> None:
    with pytest.warns(UserWarning, match="Пустое воспоминание"):
        out = run(tab.on_add("  \n ", "manual", False, dict(RU)))
    assert len(out) == 1 + len(tab.editor_outputs) and all(is_skip(v) for v in out)
    assert services.memory.list_memories(USER).total == 0


# -- the editor -------------------------------------------------------------------------
def test_selecting_a_row_loads_the_editor_and_save_pin_delete_work(
    tab: MemoryTab, services: Services
) -> None:
    memory_id = add(tab, "The user lives in Kazan")
    table, _, _ = run(tab.on_filter("", False, "", dict(EN)))
    selected, info, text, importance, pinned, confirm = select(tab, table, 0)
    assert selected == memory_id and f"Memory #{memory_id}" in info and "Note" in info
    assert (text, importance, pinned, confirm) == ("The user lives in Kazan", 0.7, False, False)

    saved = run(tab.on_save(memory_id, "The user lives in Saint Petersburg", 0.9, True, dict(EN)))
    assert saved[2] == "The user lives in Saint Petersburg" and saved[3] == pytest.approx(0.9)
    item = services.memory.get(memory_id, USER)
    assert item is not None and item.text == "The user lives in Saint Petersburg"
    assert item.importance == pytest.approx(0.9) and item.pinned
    with pytest.warns(UserWarning, match="Could not save"):
        run(tab.on_save(memory_id, "   ", 0.9, True, dict(EN)))
    assert stored(services, memory_id).text == "The user lives in Saint Petersburg"

    unpinned = run(tab.on_toggle_pin(memory_id, dict(EN)))
    assert unpinned[4] is False and not stored(services, memory_id).pinned
    repinned = run(tab.on_toggle_pin(memory_id, dict(EN)))
    assert repinned[4] is True and stored(services, memory_id).pinned

    with pytest.warns(UserWarning, match="Отметьте"):
        kept = run(tab.on_delete(memory_id, False, dict(RU)))
    assert all(is_skip(v) for v in kept) and services.memory.get(memory_id, USER) is not None
    # another user cannot touch it through their own session
    with pytest.warns(UserWarning, match="Memory not found"):
        run(tab.on_delete(memory_id, True, OTHER))
    assert services.memory.get(memory_id, USER) is not None
    cleared = run(tab.on_delete(memory_id, True, dict(EN)))
    assert cleared[0] is None and cleared[2] == "" and "Select a memory" in cleared[1]
    assert services.memory.get(memory_id, USER) is None
    with pytest.warns(UserWarning, match="Select a memory in a table first"):
        run(tab.on_toggle_pin(None, dict(EN)))
    with pytest.warns(UserWarning, match="Memory not found"):
        gone = run(tab.load_editor(memory_id, dict(EN)))
    assert gone[0] is None


def test_selecting_a_search_result_loads_it_into_the_editor(
    tab: MemoryTab, services: Services
) -> None:
    memory_id = add(tab, "The user plays the cello on Sundays")
    results, _ = run(tab.on_search("cello", 5, "keyword", "", dict(EN)))
    assert select(tab, results, 0)[0] == memory_id


# -- import and export ------------------------------------------------------------------
def test_import_of_a_plain_list_creates_a_conversation_and_memories(
    tab: MemoryTab, services: Services, tmp_path: Path
) -> None:
    upload = tmp_path / "chat.json"
    upload.write_text(json.dumps(PLAIN_CHAT), encoding="utf-8")
    result, cleared, conversations = run(tab.on_import(as_upload(upload), "auto", "", dict(EN)))
    convs = services.chat.conversations.list(USER)
    assert len(convs) == 1 and convs[0].title == "Chat with Nova"
    assert "Chat with Nova" in result and "3 messages" in result and "(JSON)" in result
    assert cleared is None
    assert conversations["value"] == convs[0].id
    assert (convs[0].title, convs[0].id) in conversations["choices"]
    messages = services.chat.messages.list(USER, convs[0].id)
    assert [m.content for m in messages] == [m["text"] for m in PLAIN_CHAT]
    turns = services.memory.list_memories(USER, MemoryFilter(kind="turn"))
    assert turns.total == 3
    assert {i.conversation_id for i in turns.items} == {convs[0].id}
    assert services.memory.wait_until_indexed(CATCH_UP_S)
    results, _ = run(tab.on_search("Dolomites hiking", 3, "hybrid", "", dict(EN)))
    assert results.iloc[0, 4] == "I adore hiking in the Dolomites"
    assert results.iloc[0, 7] == messages[0].id[:8]  # the source message, shortened


def test_malformed_import_warns_in_the_ui_language_and_writes_nothing(
    tab: MemoryTab, services: Services, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('[{"speaker": "me", "text": "hi"', encoding="utf-8")
    with pytest.warns(UserWarning, match="Не удалось импортировать: файл не JSON"):
        out = run(tab.on_import(as_upload(broken), "auto", "", dict(RU)))
    assert out[0].startswith("⚠ Не удалось импортировать") and is_skip(out[1])
    missing = tmp_path / "missing.json"
    missing.write_text('[{"speaker": "me", "text": "hi"}]', encoding="utf-8")
    with pytest.warns(UserWarning, match="a required field is missing.*timestamp"):
        run(tab.on_import(as_upload(missing), "plain", "", dict(EN)))
    with pytest.warns(UserWarning, match="unknown format"):
        run(tab.on_import(as_upload(missing), "ikar", "", dict(EN)))
    with pytest.warns(UserWarning, match="Choose a file first"):
        assert all(is_skip(v) for v in run(tab.on_import(None, "auto", "", dict(EN))))
    assert services.chat.conversations.list(USER) == []
    assert services.memory.list_memories(USER).total == 0


def test_exports_write_private_files_where_gradio_serves_them(
    tab: MemoryTab, services: Services, tmp_path: Path
) -> None:
    downloads = downloads_folder()
    add(tab, "The user's birthday is on the 3rd of May")
    memories = Path(run(tab.on_export_memories(dict(EN))))
    assert memories.resolve().is_relative_to(downloads)
    assert stat.S_IMODE(memories.stat().st_mode) == 0o600
    assert memories.name == "ikar-memories.json"
    doc = json.loads(memories.read_text(encoding="utf-8"))
    assert doc["format"] == "ikar.memories"
    assert [m["text"] for m in doc["memories"]] == ["The user's birthday is on the 3rd of May"]

    upload = tmp_path / "chat.json"
    upload.write_text(json.dumps(PLAIN_CHAT), encoding="utf-8")
    conv_id = run(tab.on_import(as_upload(upload), "plain", "", dict(EN)))[2]["value"]
    paths = {
        fmt: Path(run(tab.on_export_conversation(conv_id, fmt, dict(EN))))
        for fmt in ("md", "json", "jsonl")
    }
    for fmt, path in paths.items():
        assert path.resolve().is_relative_to(downloads) and path.suffix == f".{fmt}"
    assert "Tre Cime" in paths["md"].read_text(encoding="utf-8")
    exported = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert [m["content"] for m in exported["messages"]] == [m["text"] for m in PLAIN_CHAT]
    assert len(paths["jsonl"].read_text(encoding="utf-8").strip().splitlines()) >= 3
    assert len({p.parent for p in paths.values()}) == 3  # one folder per download
    with pytest.warns(UserWarning, match="Разговор не найден"):
        assert is_skip(run(tab.on_export_conversation(conv_id, "md", STRANGER)))
    with pytest.warns(UserWarning, match="Choose a conversation first"):
        assert is_skip(run(tab.on_export_conversation(None, "md", dict(EN))))


# -- the profile (core memory) ----------------------------------------------------------
def test_profile_facts_are_shown_added_edited_pinned_and_deleted(
    tab: MemoryTab, services: Services
) -> None:
    core = services.memory.profile
    core.extract_now(USER, None, "m1", "user", "Меня зовут Алексей, у меня кот по имени Барсик")
    core.extract_now("other", None, "m2", "user", "My name is Eve")
    values = run(tab.on_load(dict(RU)))
    out = dict(zip(map(id, tab.load_outputs()), values, strict=True))
    shown = out[id(tab.profile_table)]
    assert set(shown["Текст"]) == {
        "Имя пользователя: Алексей",
        "У пользователя кот по имени Барсик",
    }
    assert set(shown["Тип"]) == {"имя", "питомец"} and "Eve" not in " ".join(shown["Текст"])

    table, selected, text, kind = run(tab.on_fact_add("Allergic to peanuts", "allergy", dict(EN)))
    assert selected is None and text == "" and kind == "other"
    row = next(i for i, v in enumerate(table["Text"]) if v == "Allergic to peanuts")
    assert table.iloc[row, 3] == "you"
    event = gr.SelectData(
        None, {"index": [row, 2], "value": "", "row_value": list(table.iloc[row])}
    )
    _, fact_id, text, kind = run(tab.on_fact_select(table, dict(EN), event))
    assert text == "Allergic to peanuts" and kind == "allergy"

    table, *_ = run(tab.on_fact_save(fact_id, "Severe peanut allergy", "allergy", dict(EN)))
    table, *_ = run(tab.on_fact_pin(fact_id, dict(EN)))
    assert table.iloc[0, 0] == fact_id and table.iloc[0, 4] == "★"  # pinned first
    assert table.iloc[0, 2] == "Severe peanut allergy"
    assert core.prompt_lines(USER, None)[0] == "Severe peanut allergy"

    with pytest.warns(UserWarning, match="Profile fact not found"):
        run(tab.on_fact_delete(fact_id, OTHER))  # another user's session cannot
    table, *_ = run(tab.on_fact_delete(fact_id, dict(EN)))
    assert fact_id not in set(table["ID"])
    with pytest.warns(UserWarning, match="Select a fact"):
        run(tab.on_fact_pin(None, dict(EN)))
    with pytest.warns(UserWarning, match="non-empty"):
        run(tab.on_fact_add("   ", "other", dict(EN)))


# -- statistics and consolidation -------------------------------------------------------
def test_stats_reflect_counts_by_kind_and_the_index(tab: MemoryTab, services: Services) -> None:
    add(tab, "note one")
    add(tab, "note two", pinned=True)
    add(tab, "a fact", kind="fact")
    assert services.memory.wait_until_indexed(CATCH_UP_S)
    plot, stats, consolidation, timer = run(tab.on_stats(dict(EN)))
    counts = dict(zip(plot["kind"], plot["count"], strict=True))
    assert counts == {"Turn": 0, "Summary": 0, "Fact": 1, "Note": 2}
    assert "**Memories in total:** 3" in stats and "**Pinned:** 1" in stats
    assert "consistent with the database" in stats and "**Waiting to be embedded:** 0" in stats
    assert "3 vectors" in stats and "**Last consolidation:** never" in stats
    assert "**Re-embedding with authors:** not needed" in stats
    assert "idle" in consolidation and timer == {"__type__": "update", "active": False}
    ru = run(tab.on_stats(dict(RU)))
    assert set(ru[0]["kind"]) == {"Реплика", "Сводка", "Факт", "Заметка"}
    assert "**Всего воспоминаний:** 3" in ru[1]


def test_consolidation_runs_from_the_tab_and_reports_its_status(
    tab: MemoryTab, services: Services
) -> None:
    add(tab, "something to keep")
    run(tab.on_consolidate(dict(EN)))
    consolidator = services.memory.consolidator
    assert consolidator.wait(60)
    _, stats, line, timer = run(tab.on_stats(dict(EN)))
    assert "Consolidation:** idle" in line and timer["active"] is False
    assert "By itself: in idle time or at night" in line  # the schedule is shown too
    assert "**Last consolidation:** never" not in stats
    with pytest.warns(UserWarning, match="not running"):
        run(tab.on_cancel_consolidation(dict(EN)))


# -- real browser -----------------------------------------------------------------------


@pytest.mark.browser
def test_browser_adds_a_memory_and_finds_it_by_search(live_server: LiveServer) -> None:

    text = "The user keeps a tortoise named Archimedes"
    with browser_page(viewport={"width": 1400, "height": 1000}) as page:
        page.goto(live_server.url + "/")
        page.wait_for_selector("#chat-input textarea", timeout=60_000)
        page.get_by_role("tab", name=re.compile("Память|Memory")).click()
        page.wait_for_selector("#memory-add-text textarea", timeout=30_000)
        page.fill("#memory-add-text textarea", text)
        page.click("#memory-add-btn")
        # the list refreshes with the new memory, and the editor shows it
        page.locator("#memory-list [role=gridcell]", has_text=text).first.wait_for(timeout=30_000)
        page.locator("#memory-edit-text textarea").wait_for(timeout=10_000)
        assert page.locator("#memory-edit-text textarea").input_value() == text
        assert page.locator("#memory-add-text textarea").input_value() == ""

        page.locator("#memory-search-query input, #memory-search-query textarea").first.fill(
            "tortoise Archimedes"
        )
        page.click("#memory-search-btn")
        results = page.locator("#memory-search-results [role=gridcell]")
        results.filter(has_text=text).first.wait_for(timeout=60_000)
        row = page.locator("#memory-search-results [role=row]", has_text=text).first
        cells = row.locator("[role=gridcell]").all_inner_texts()
    with live_server.services.db.connect() as conn:
        stored = conn.execute("SELECT id FROM memories WHERE text = ?", (text,)).fetchall()
    assert len(stored) == 1
    assert cells[0].strip() == str(stored[0][0])
    assert float(cells[1]) > 0


def test_stats_show_the_reembedding_progress(tab: MemoryTab, services: Services) -> None:
    from app.ui.memory_tab import reembed_text
    from memory.types import ReembedStatus

    health = services.memory.status()
    running = health.model_copy(
        update={"reembed": ReembedStatus(state="running", total=200, done=50, progress=0.25)}
    )
    assert reembed_text(running, "en") == "running: 50 of 200 (25%)"
    assert reembed_text(running, "ru") == "идёт: 50 из 200 (25%)"
    done = health.model_copy(
        update={"reembed": ReembedStatus(state="done", total=200, done=200, finished_at=0.0)}
    )
    assert reembed_text(done, "en").startswith("done (200, ")
