"""Scheduling of model work (issue 12 item 4, issue 10 item 9): as many turns per model as
its backend shares (one for most; the llama.cpp backend interleaves several, tested with the
real model in tests/models/test_shared_turns.py), queue positions, a full line refused with
Retry-After, cancelled waiting turns, background work only when idle.

The line's logic is tested with the scripted backend (timing on demand); the real model's
part (a background generation keeps no state) is in tests/models/test_prompt_cache.py and
the real chat path in tests/app/test_api_chat.py.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from app.services.models import ModelManager
from app.services.scheduling import QueueFullError, TurnScheduler
from app.services.summarizer import Summarizer
from app.services.turns import ChatEvent
from config.settings import Settings
from models.profiles import load_profiles
from models.types import ChatMessage, SamplingParams, StreamChunk
from tests.app.fakes import ScriptedBackend, services_with


class CountingBackend(ScriptedBackend):
    """Records how many generations ran at once and what each was asked."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.active = 0
        self.most_at_once = 0
        self.params: list[SamplingParams | None] = []
        self.cancelled = 0
        self.yielded = 0  # chunks handed out: a cancel shows as far fewer than scripted
        self._count_lock = threading.Lock()

    def stream(
        self,
        messages: list[ChatMessage],
        params: SamplingParams | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[StreamChunk]:
        with self._count_lock:
            self.active += 1
            self.most_at_once = max(self.most_at_once, self.active)
            self.params.append(params)
        try:
            for chunk in super().stream(messages, params, cancel):
                self.yielded += 1
                yield chunk
        except Exception:
            self.cancelled += 1
            raise
        finally:
            with self._count_lock:
                self.active -= 1


# -- the line itself ---------------------------------------------------------------------
def test_positions_move_up_and_a_full_line_is_refused_with_retry_after() -> None:
    async def scenario() -> None:
        line = TurnScheduler(max_waiting=2)
        first = line.enter("m")
        second = line.enter("m")
        third = line.enter("m")
        assert (line.position(first), line.position(second), line.position(third)) == (0, 1, 2)
        with pytest.raises(QueueFullError) as refused:
            line.enter("m")
        assert refused.value.status_code == 503
        assert int(refused.value.headers()["Retry-After"]) >= 1
        assert line.enter("other-model").granted  # one line per model

        seen: list[int] = []

        async def wait_third() -> None:
            async for position in line.wait(third):
                seen.append(position)

        waiting = asyncio.create_task(wait_third())
        await asyncio.sleep(0.01)
        line.leave(second)  # left the line from the middle: third moves up
        await asyncio.sleep(0.01)
        line.leave(first)  # done: third holds the model
        await asyncio.wait_for(waiting, 2)
        assert seen == [2, 1]
        assert third.granted and line.position(third) == 0
        line.leave(third)
        assert line.idle("m")
        line.close()

    asyncio.run(scenario())


def test_background_work_only_when_idle_and_preempted_by_a_turn() -> None:
    async def scenario() -> None:
        line = TurnScheduler(max_waiting=4)
        job = line.try_background("m")
        assert job is not None and not job.preempt.is_set()
        assert line.try_background("m") is None  # one user of the model at a time
        turn = line.enter("m")  # a person arrives: the job is asked to stop
        assert job.preempt.is_set() and line.position(turn) == 1
        line.leave(job)
        assert turn.granted
        assert line.try_background("m") is None  # a turn runs: no daydreaming
        line.leave(turn)
        assert line.try_background("m") is not None
        line.close()

    asyncio.run(scenario())


def test_a_model_that_shares_lets_that_many_turns_in_and_the_rest_wait() -> None:
    async def scenario() -> None:
        line = TurnScheduler(max_waiting=4)
        turns = [line.enter("m", capacity=3) for _ in range(5)]
        assert [line.position(t) for t in turns] == [0, 0, 0, 1, 2]
        assert line.stats()[0].running_turns == 3 and line.stats()[0].waiting == 2
        assert line.try_background("m") is None  # turns run: no daydreaming
        line.leave(turns[1])
        assert turns[3].granted and line.position(turns[4]) == 1
        for turn in turns:
            line.leave(turn)
        assert line.idle("m")
        job = line.try_background("m")  # background work has the model alone
        assert job is not None
        late = [line.enter("m", capacity=3) for _ in range(2)]
        assert job.preempt.is_set() and [line.position(t) for t in late] == [1, 2]
        line.leave(job)
        assert all(t.granted for t in late)  # both fit once the job is gone
        line.close()

    asyncio.run(scenario())


def test_cancel_while_waiting_leaves_the_line() -> None:
    async def scenario() -> None:
        line = TurnScheduler(max_waiting=4)
        first = line.enter("m")
        second = line.enter("m")
        cancel = threading.Event()

        async def wait_second() -> list[int]:
            return [p async for p in line.wait(second, cancel=cancel, poll_s=0.02)]

        waiting = asyncio.create_task(wait_second())
        await asyncio.sleep(0.05)
        cancel.set()
        assert await asyncio.wait_for(waiting, 2) == [1]
        assert not second.granted and second.left
        line.leave(first)
        assert line.idle("m")
        line.close()

    asyncio.run(scenario())


# -- the chat service in front of it -----------------------------------------------------
async def _collect(events: object) -> list[ChatEvent]:
    return [e async for e in events]  # type: ignore[attr-defined]


def test_concurrent_turns_generate_one_at_a_time_and_see_their_position(
    settings: Settings,
) -> None:
    backend = CountingBackend(words=[f" w{i}" for i in range(8)], delay_s=0.02)
    services = services_with(settings, backend)

    async def scenario() -> list[list[ChatEvent]]:
        return await asyncio.gather(
            *(_collect(services.chat.send(f"user{i}", f"Hello {i}")) for i in range(4))
        )

    runs = asyncio.run(scenario())
    assert backend.most_at_once == 1
    positions = [[e.position for e in run if e.type == "queued"] for run in runs]
    # Whoever came first generated at once; the others saw their place, counting down.
    assert sorted(p[0] if p else 0 for p in positions) == [0, 1, 2, 3]
    for seen in positions:
        assert seen == sorted(seen, reverse=True) and (not seen or seen[-1] == 1)
    assert all(run[-1].type == "done" and run[-1].reply for run in runs)
    assert services.chat.scheduler.idle("scripted")
    services.close()


def test_the_chat_service_lets_in_as_many_turns_as_the_backend_shares(
    settings: Settings,
) -> None:
    backend = CountingBackend(words=[f" w{i}" for i in range(8)], delay_s=0.05)
    backend.turns_at_once = 3
    services = services_with(settings, backend)

    async def scenario() -> list[list[ChatEvent]]:
        return await asyncio.gather(
            *(_collect(services.chat.send(f"user{i}", f"Hello {i}")) for i in range(5))
        )

    runs = asyncio.run(scenario())
    assert backend.most_at_once == 3
    firsts = sorted(next((e.position for e in run if e.type == "queued"), 0) for run in runs)
    assert firsts == [0, 0, 0, 1, 2]  # three at once, two saw their place
    assert all(run[-1].type == "done" and run[-1].reply for run in runs)
    assert services.chat.scheduler.idle("scripted")
    services.close()


def test_full_line_refuses_before_storing_anything(make_settings: object) -> None:
    settings = make_settings(chat_queue_max=0)  # type: ignore[operator]
    services = services_with(settings, ScriptedBackend())

    async def scenario() -> None:
        holder = services.chat.scheduler.enter("scripted")  # someone is generating
        events = services.chat.send("alice", "Are you there?")
        with pytest.raises(QueueFullError):
            await anext(events)
        services.chat.scheduler.leave(holder)

    asyncio.run(scenario())
    assert services.chat.messages.count_for_user("alice") == 0
    services.close()


def test_stop_while_waiting_keeps_the_users_message(settings: Settings) -> None:
    backend = CountingBackend()
    services = services_with(settings, backend)

    async def scenario() -> list[ChatEvent]:
        holder = services.chat.scheduler.enter("scripted")
        events = services.chat.send("bob", "Please remember this")
        seen = [await anext(events), await anext(events)]
        assert [e.type for e in seen] == ["started", "queued"] and seen[1].position == 1
        assert services.chat.queue_position("bob") == 1
        assert services.chat.stop("bob")
        seen += [e async for e in events]
        services.chat.scheduler.leave(holder)
        return seen

    events = asyncio.run(scenario())
    assert events[-1].type == "done" and events[-1].stopped
    assert backend.prompts == []  # never reached the model
    msgs = services.chat.messages.list("bob", events[0].conversation_id or "")
    assert msgs[0].role == "user" and msgs[0].content == "Please remember this"
    assert services.chat.scheduler.idle("scripted")
    services.close()


def test_the_model_is_free_while_a_reply_makes_its_media(settings: Settings) -> None:
    """The line is left when generation ends, before after-reply hooks (speech, pictures)."""
    backend = CountingBackend(words=["ok"])
    services = services_with(settings, backend)
    idle_after_reply: list[bool] = []

    class Probe:
        requires: frozenset[str] = frozenset()
        provides: frozenset[str] = frozenset()

        def before_prompt(self, ctx: object) -> None:
            return None

        def transform_reply(self, ctx: object, reply: str) -> str:
            return reply

        def after_reply(self, ctx: object, reply: object) -> None:
            idle_after_reply.append(services.chat.scheduler.idle("scripted"))

    services.chat.hooks = type(services.chat.hooks)([*services.chat.hooks, Probe()])  # type: ignore[list-item]
    final = asyncio.run(services.chat.complete("carol", "Hi"))
    assert final.type == "done"
    assert idle_after_reply == [True]
    services.close()


# -- inner life ----------------------------------------------------------------------------
def test_inner_life_waits_while_people_talk_and_keeps_no_state(settings: Settings) -> None:
    backend = CountingBackend(words=["a", " thought"])
    services = services_with(settings, backend)
    asyncio.run(services.chat.complete("dave", "Hello"))
    life = services.inner_life

    async def busy_tick() -> None:
        holder = services.chat.scheduler.enter("scripted")
        try:
            assert await asyncio.to_thread(life._generate, [], 10) == ""
        finally:
            services.chat.scheduler.leave(holder)

    calls = len(backend.prompts)
    asyncio.run(busy_tick())
    assert len(backend.prompts) == calls  # the model was busy: no thought at all
    assert life._generate([ChatMessage(role="user", content="think")], 10) == "a thought"
    params = backend.params[-1]
    assert params is not None and params.keep_state is False
    services.close()


def test_a_thought_gives_the_model_back_when_a_turn_arrives(settings: Settings) -> None:
    # 4000 tokens at 10 ms take at least 40 s: a preempted thought stops long before that,
    # however slow the machine is.
    backend = CountingBackend(words=[f" t{i}" for i in range(4000)], delay_s=0.01)
    services = services_with(settings, backend)

    async def scenario() -> tuple[str, float]:
        thought = asyncio.create_task(
            asyncio.to_thread(
                services.inner_life._generate, [ChatMessage(role="user", content="hm")], 400
            )
        )
        await asyncio.sleep(0.2)  # the thought is generating
        started = time.perf_counter()
        backend.words = ["hi"]
        final = await services.chat.complete("erin", "Hello?")
        waited = time.perf_counter() - started
        assert final.type == "done"
        return await thought, waited

    text, waited = asyncio.run(scenario())
    assert text == ""  # preempted: the daydream is dropped, not half-stored
    assert waited < 20.0  # the whole thought would have taken over 40 s
    assert backend.cancelled == 1
    assert backend.yielded < 2000  # it stopped mid-thought, not at the end
    services.close()


def test_turns_from_threads_with_their_own_event_loops_take_turns(settings: Settings) -> None:
    """Gradio handlers, REST requests and tests may each run their own loop: the line wakes
    a waiting turn on its own loop."""
    backend = CountingBackend(words=[f" w{i}" for i in range(5)], delay_s=0.02)
    services = services_with(settings, backend)
    finals: dict[str, ChatEvent] = {}

    def turn(user: str) -> None:
        finals[user] = asyncio.run(services.chat.complete(user, f"Hello from {user}"))

    threads = [threading.Thread(target=turn, args=(f"t{i}",)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert all(not th.is_alive() for th in threads)
    assert sorted(finals) == ["t0", "t1", "t2", "t3"]
    assert all(f.type == "done" and f.reply for f in finals.values())
    assert backend.most_at_once == 1
    services.close()


def test_summaries_wait_for_an_idle_model(settings: Settings) -> None:
    backend = CountingBackend(words=["A", " summary"])
    models = ModelManager(
        load_profiles(settings.model_profiles_file),
        settings.default_model,
        settings.resolved_models_dir,
        backend_factory=lambda _: backend,
    )
    line = TurnScheduler(max_waiting=4)
    summarize = Summarizer(models, settings.prompts_dir, line, idle_poll_s=0.02, max_wait_s=5)
    holder = line.enter("scripted")  # a chat turn is generating
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(summarize(["user: hi"])))
    worker.start()
    time.sleep(0.2)
    assert backend.prompts == [] and result == []  # waits, the chat keeps the model
    line.leave(holder)
    worker.join(timeout=5)
    assert result == ["A summary"]
    params = backend.params[-1]
    assert params is not None and params.keep_state is False

    busy = line.enter("scripted")
    impatient = Summarizer(models, settings.prompts_dir, line, idle_poll_s=0.02, max_wait_s=0.1)
    with pytest.raises(TimeoutError):
        impatient(["user: hi"])
    line.leave(busy)
    line.close()
