"""Saved KV states with the real tiny model (SmolLM2): never stale, bounded, and kept across a
restart. Greedy decoding, so "the same reply" means the same tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.factory import create_backend
from models.llama_cpp_backend import LlamaCppBackend
from models.profiles import ModelProfile, StateCacheSettings
from models.types import ChatMessage, SamplingParams, Usage

GREEDY = SamplingParams(temperature=0.0, max_tokens=8)

PERSONA = (
    "You are Wren, a small grey owl who lives in a library tower. You love rain, old maps, "
    "tea with honey and long quiet evenings. You speak warmly, briefly and never use lists. "
    "You remember the people you talk to and ask them about their day. "
)


def _profile(**cache: object) -> ModelProfile:
    settings = {"min_prefix_tokens": 16, "min_restore_tokens": 8, **cache}
    return ModelProfile(
        name="tiny",
        source="packaged",
        package="smollm2-135m",
        n_ctx=1024,
        max_tokens=16,
        state_cache=StateCacheSettings(**settings),  # type: ignore[arg-type]
    )


def _backend(state_dir: Path, **cache: object) -> LlamaCppBackend:
    b = create_backend(_profile(**cache), state_dir.parent, n_threads=2, state_dir=state_dir)
    assert isinstance(b, LlamaCppBackend)
    return b


def _prefix(system: str = PERSONA) -> list[ChatMessage]:
    return [
        ChatMessage(role="system", content=system),
        ChatMessage(role="user", content="Who are you?"),
        ChatMessage(role="assistant", content="I am Wren, the library owl.", cache="prefix"),
    ]


def _conversation(name: str, turns: int, system: str = PERSONA) -> list[ChatMessage]:
    history: list[ChatMessage] = []
    for i in range(turns):
        history += [
            ChatMessage(role="user", content=f"I am {name}. Tell me fact number {i} about owls."),
            ChatMessage(role="assistant", content=f"Fact {i}: owls fly silently, {name}."),
        ]
    return [*_prefix(system), *history, ChatMessage(role="user", content="And one more?")]


def _reply(backend: LlamaCppBackend, messages: list[ChatMessage]) -> tuple[str, Usage]:
    chunks = list(backend.stream(messages, GREEDY))
    usage = chunks[-1].usage
    assert usage is not None
    return "".join(c.text for c in chunks), usage


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> LlamaCppBackend:
    """The same model with no saved states at all: every prompt evaluated from scratch."""
    b = _backend(tmp_path_factory.mktemp("fresh") / "kv", enabled=False)
    return b


def _fresh_reply(fresh: LlamaCppBackend, messages: list[ChatMessage]) -> str:
    fresh.load()
    assert fresh._llm is not None
    fresh._llm.reset()  # nothing of the previous prompt is reused
    return _reply(fresh, messages)[0]


def test_restored_conversation_state_gives_the_fresh_tokens(
    tmp_path: Path, fresh: LlamaCppBackend
) -> None:
    b = _backend(tmp_path / "kv")
    alice, bob = _conversation("Alice", 3), _conversation("Bob", 2)
    _reply(b, [*alice[:-1], ChatMessage(role="user", content="Hello?")])
    _reply(b, bob)  # takes the context: Alice's KV is saved first
    assert b.cache_stats().saves == 1
    text, usage = _reply(b, alice)  # Alice again: restored, not re-read
    stats = b.cache_stats()
    assert stats.restores_ram == 1
    assert usage.cached_tokens >= usage.prompt_tokens - 20
    assert text == _fresh_reply(fresh, alice)


def test_edited_persona_never_reuses_the_old_prefix(tmp_path: Path, fresh: LlamaCppBackend) -> None:
    b = _backend(tmp_path / "kv")
    _reply(b, _conversation("Alice", 1))
    assert b.cache_stats().prefixes_made == 1
    edited = PERSONA.replace("tea with honey", "cocoa with cinnamon")
    prompt = _conversation("Alice", 1, system=edited)
    text, usage = _reply(b, prompt)
    assert b.cache_stats().prefixes_made == 2  # the edited prefix got its own state
    cut = PERSONA.index("tea with honey")
    assert usage.cached_tokens < b.count_tokens(PERSONA[:cut]) + 8  # only up to the edit
    assert text == _fresh_reply(fresh, prompt)


def test_states_on_disk_survive_a_new_backend(tmp_path: Path, fresh: LlamaCppBackend) -> None:
    first = _backend(tmp_path / "kv")
    _reply(first, _conversation("Alice", 1))
    first.unload()  # a restart: RAM is gone, the disk stays
    second = _backend(tmp_path / "kv")
    second.load()
    assert second.cache_stats().prefix_states == 1
    prompt = _conversation("Carol", 1)  # a new conversation with the same persona
    text, usage = _reply(second, prompt)
    stats = second.cache_stats()
    assert stats.restores_disk == 1 and stats.prefixes_made == 0
    assert usage.cached_tokens >= second.count_tokens(PERSONA)
    assert text == _fresh_reply(fresh, prompt)
    # the conversation that was live at the restart comes back too
    _, again = _reply(second, _conversation("Alice", 1))
    stats = second.cache_stats()
    assert stats.restores_disk + stats.restores_ram == 2
    assert again.cached_tokens >= again.prompt_tokens - 20


def test_corrupt_state_file_is_a_miss_not_a_wrong_reply(
    tmp_path: Path, fresh: LlamaCppBackend
) -> None:
    first = _backend(tmp_path / "kv")
    _reply(first, _conversation("Alice", 1))
    first.unload()
    for path in (tmp_path / "kv").rglob("*.kv"):
        data = bytearray(path.read_bytes())
        data[-100] ^= 0xFF  # flip a byte inside the KV data
        path.write_bytes(bytes(data))
    second = _backend(tmp_path / "kv")
    prompt = _conversation("Dora", 1)
    text, _ = _reply(second, prompt)
    assert second.cache_stats().restores_disk == 0
    assert text == _fresh_reply(fresh, prompt)


def test_note_is_cut_so_the_next_turn_reads_only_new_tokens(tmp_path: Path) -> None:
    b = _backend(tmp_path / "kv")
    note = ChatMessage(role="system", content="[Note: you are sleepy today.]", cache="volatile")
    history = _conversation("Alice", 1)[:-1]
    first = [*history, note, ChatMessage(role="user", content="Good morning!")]
    reply, _ = _reply(b, first)
    second = [
        *history,
        ChatMessage(role="user", content="Good morning!"),
        ChatMessage(role="assistant", content=reply),
        note.model_copy(update={"content": "[Note: you are cheerful now.]"}),
        ChatMessage(role="user", content="How are you?"),
    ]
    _, usage = _reply(b, second)
    assert b.cache_stats().cuts >= 1
    new_tokens = usage.prompt_tokens - usage.cached_tokens
    tail = b.count_tokens("[Note: you are cheerful now.]How are you?")
    assert new_tokens <= tail + 24  # the note, the message, role markers, no more


def test_caches_stay_within_their_bounds(tmp_path: Path) -> None:
    # SmolLM2 needs ~23 KB per token: 1 MB of RAM holds ~40 tokens, 3 MB of disk ~130
    b = _backend(tmp_path / "kv", ram_mb=1, prefix_ram_mb=1, disk_mb=3)
    for i in range(5):
        system = f"{PERSONA} Persona variant number {i}."
        _reply(b, _conversation(f"user{i}", 1, system=system))
    b.sync_states()
    stats = b.cache_stats()
    mb = 1024 * 1024
    assert stats.prefixes_made == 5
    assert stats.ram_bytes <= 2 * mb
    assert stats.disk_bytes <= 3 * mb
    on_disk = sum(p.stat().st_size for p in (tmp_path / "kv").rglob("*.kv"))
    assert on_disk <= 3 * mb + 64 * 1024  # headers and token lists on top of the states
    # an evicted state is a miss, never a wrong reply: everything still answers
    assert _reply(b, _conversation("user0", 1, system=f"{PERSONA} Persona variant number 0."))[0]


def test_warm_prefix_then_first_turn_reads_only_its_own_tokens(tmp_path: Path) -> None:
    b = _backend(tmp_path / "kv")
    assert b.warm_prefix(_prefix()) is True
    assert b.cache_stats().prefixes_made == 1
    prompt = _conversation("Erin", 0)
    _, usage = _reply(b, prompt)
    assert usage.cached_tokens >= b.count_tokens(PERSONA)
    assert b.invalidate(_prefix()) >= 1
    assert b.cache_stats().prefix_states == 0


def test_background_generation_keeps_the_conversation_and_saves_nothing_of_its_own(
    tmp_path: Path,
) -> None:
    """An inner-life thought (keep_state=False) never takes a live conversation's place."""
    b = _backend(tmp_path / "kv")
    alice = _conversation("Alice", 2)
    _reply(b, alice)
    thought = [
        ChatMessage(role="system", content="You think to yourself, alone, in one line."),
        ChatMessage(role="user", content="What is on your mind tonight?"),
    ]
    chunks = list(b.stream(thought, GREEDY.model_copy(update={"keep_state": False})))
    assert chunks[-1].done
    saves = b.cache_stats().saves
    assert saves == 1  # Alice's conversation was kept before the thought took the context
    follow = [*alice, ChatMessage(role="assistant", content="Owls see well."), alice[-1]]
    _, usage = _reply(b, follow)
    stats = b.cache_stats()
    assert stats.saves == saves  # nothing of the thought was saved when Alice came back
    assert stats.restores_ram == 1 and usage.cached_tokens >= usage.prompt_tokens - 40


def test_a_users_day_after_the_persona_prefix_is_a_state_too(
    tmp_path: Path, fresh: LlamaCppBackend
) -> None:
    """The app marks the per-user day message as a prefix after the persona's: a user's next
    new conversation restores [persona prefix + day], and it still replies as from scratch."""
    b = _backend(tmp_path / "kv")
    day = ChatMessage(
        role="system", content="Today you are sleepy and talk about the moon, Ann.", cache="prefix"
    )
    head = [*_prefix(), day]
    _reply(b, [*head, ChatMessage(role="user", content="Hello, owl!")])
    assert b.cache_stats().prefixes_made == 1  # [persona prefix + day], evaluated once
    _reply(b, _conversation("Bob", 1))  # someone else takes the context meanwhile
    second = [*head, ChatMessage(role="user", content="What is your favourite map?")]
    reply, usage = _reply(b, second)
    assert usage.cached_tokens >= b.count_messages(head) * 0.8
    assert reply == _fresh_reply(fresh, second)
