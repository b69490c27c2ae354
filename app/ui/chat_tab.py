"""The Chat tab: conversations, persona, streaming replies, stop, regenerate, edit, voice,
image reading and drawing."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from app.composition import Services
from app.i18n import MESSAGES, t
from app.services.errors import NotFound
from app.services.turns import ChatEvent
from app.soul.card import substitute_macros
from app.ui.avatars import persona_avatar, user_avatar
from app.ui.chat_media import ChatMedia
from app.ui.chat_render import ChatHistory, to_chatbot
from app.ui.errors import failure_text, info, warn, warning
from app.ui.labels import Labels
from app.ui.session import current_login, user_of
from config.errors import IkarError
from config.validation import displayable
from media.markers import hide_partial_marker


class ChatTab:
    """Builds the tab and owns its callbacks; all decisions are in `services.chat`."""

    title_key = "tab.chat"
    tab_id = "chat"

    def __init__(self, services: Services, labels: Labels, session: gr.BrowserState) -> None:
        self.services = services
        self.labels = labels
        self.session = session
        self.media = ChatMedia(services)

    # -- layout ------------------------------------------------------------------------
    def build(self) -> None:
        lb = self.labels
        with gr.Row(elem_id="chat-layout"):
            # Folded on a phone by the page script (under the chat there: the chat first).
            with (
                gr.Column(scale=1, min_width=240),
                gr.Accordion(open=True, elem_id="chat-controls") as controls,
            ):
                lb.add(controls, label="chat.controls")
                self.persona = lb.add(
                    gr.Dropdown(
                        choices=self._persona_choices(),
                        interactive=True,
                        value=self.services.defaults.persona,
                        elem_id="persona-select",
                    ),
                    label="chat.persona",
                )
                self.conversations = lb.add(
                    gr.Dropdown(
                        choices=[], value=None, interactive=True, elem_id="conversation-select"
                    ),
                    label="chat.conversations",
                )
                self.new_btn = lb.add(
                    gr.Button(size="sm", elem_id="new-conversation"), value="chat.new"
                )
                self.title = lb.add(
                    gr.Textbox(max_lines=1, elem_id="conversation-title"), label="chat.title"
                )
                with gr.Row():
                    self.rename_btn = lb.add(gr.Button(size="sm"), value="chat.rename")
                    self.delete_btn = lb.add(
                        gr.Button(size="sm", variant="stop", elem_id="delete-conversation"),
                        value="chat.delete",
                    )
                self.model_status = gr.Markdown(elem_id="model-status")
                self.speak_toggle = lb.add(
                    gr.Checkbox(value=False, elem_id="speak-replies"),
                    label="chat.speak_replies",
                )
                self.voice_out = lb.add(
                    gr.Audio(
                        autoplay=True, interactive=False, elem_id="voice-out", type="filepath"
                    ),
                    label="chat.voice_out",
                )
            with gr.Column(scale=4):
                self.chatbot = gr.Chatbot(
                    height=540, elem_id="chatbot", buttons=["copy"], show_label=False
                )
                self.textbox = lb.add(
                    gr.Textbox(lines=2, max_lines=8, elem_id="chat-input", autofocus=True),
                    label="chat.input",
                    placeholder="chat.placeholder",
                )
                # Shown while a message waits for the reply being written (see `on_queue`).
                self.queued_note = gr.Markdown("", elem_id="queued-note")
                with gr.Row(elem_id="chat-buttons"):
                    self.send_btn = lb.add(
                        gr.Button(variant="primary", elem_id="send", interactive=False),
                        value="chat.send",
                    )
                    self.stop_btn = lb.add(
                        gr.Button(variant="stop", elem_id="stop"), value="chat.stop"
                    )
                    self.regen_btn = lb.add(
                        gr.Button(elem_id="regenerate"), value="chat.regenerate"
                    )
                    self.edit_btn = lb.add(gr.Button(elem_id="edit-last"), value="chat.edit_last")
                with gr.Accordion(open=False, elem_id="media-tools") as tools:
                    lb.add(tools, label="chat.media_tools")
                    with gr.Row():
                        # A file box, not gr.Image: gradio's image box refuses a
                        # non-image in English before any handler runs, and a text file
                        # renamed .png failed the whole send with bare "Error" badges.
                        # `check_image` refuses non-images in the user's language.
                        self.attach = lb.add(
                            gr.File(
                                type="filepath",
                                file_count="single",
                                height=160,
                                elem_id="chat-attach",
                            ),
                            label="chat.attach_image",
                        )
                        self.mic = lb.add(
                            gr.Audio(
                                sources=["microphone", "upload"],
                                type="filepath",
                                elem_id="chat-mic",
                            ),
                            label="chat.mic",
                        )
                    with gr.Accordion(open=False) as draw_box:
                        lb.add(draw_box, label="chat.draw")
                        cfg = self.services.settings.media.image
                        if not cfg.model:  # not set up: say so and how, not an empty gallery
                            lb.add(
                                gr.Markdown(elem_id="draw-not-set-up"),
                                value="chat.image_not_set_up",
                            )
                        self.draw_prompt = lb.add(gr.Textbox(max_lines=3), label="chat.draw_prompt")
                        self.draw_negative = lb.add(
                            gr.Textbox(max_lines=2), label="chat.draw_negative"
                        )
                        with gr.Row():
                            self.draw_w = lb.add(
                                gr.Slider(64, cfg.max_width, step=64, value=cfg.default_width),
                                label="chat.draw_width",
                            )
                            self.draw_h = lb.add(
                                gr.Slider(64, cfg.max_height, step=64, value=cfg.default_height),
                                label="chat.draw_height",
                            )
                            self.draw_steps = lb.add(
                                gr.Slider(1, cfg.max_steps, step=1, value=cfg.default_steps),
                                label="chat.draw_steps",
                            )
                            self.draw_seed = lb.add(
                                gr.Number(value=0, precision=0), label="chat.draw_seed"
                            )
                        self.draw_btn = lb.add(
                            gr.Button(variant="primary", interactive=bool(cfg.model)),
                            value="chat.draw_button",
                        )
                        self.gallery = lb.add(
                            gr.Gallery(columns=4, height=260, elem_id="chat-gallery"),
                            label="chat.gallery",
                        )
        self.conv_id = gr.State(None)
        self.shown = gr.State(0)  # stored messages on screen, to spot unprompted ones
        # The persona's greeting shown on an empty chat; stored first when the user answers.
        self.greeting = gr.State("")
        self.delete_armed = gr.State(False)
        # Browser tabs (gradio session hashes) with a turn in progress: a message sent
        # meanwhile waits for it instead of being dropped.
        self._busy: set[str] = set()
        # Turns whose page went away (reloaded, closed) mid-reply: they run on to the end.
        self._detached_turns: set[asyncio.Task[None]] = set()
        self._wire()

    def _wire(self) -> None:
        turn_outputs = [
            self.chatbot,
            self.textbox,
            self.conv_id,
            self.conversations,
            self.model_status,
            self.attach,
            self.voice_out,
            self.shown,
            self.send_btn,
            self.queued_note,
        ]
        send_inputs = [
            self.textbox,
            self.session,
            self.conv_id,
            self.persona,
            self.attach,
            self.speak_toggle,
            self.greeting,
        ]
        # One event for Enter and the button. A send while the previous turn is running is
        # deferred by the browser ("always_last") and run, with the box's text, when that
        # turn ends; meanwhile `on_queue` locks the box with the text in it and says so.
        send_triggers: list[Any] = [self.textbox.submit, self.send_btn.click]
        gr.on(
            send_triggers,
            self.on_send,
            send_inputs,
            turn_outputs,
            api_name="send_message",
            trigger_mode="always_last",
            show_progress_on=[self.chatbot],
        )
        gr.on(
            send_triggers,
            self.on_queue,
            [self.textbox, self.session],
            [self.textbox, self.queued_note],
            api_visibility="private",
            queue=False,
            show_progress="hidden",
        )
        self.stop_btn.click(
            self.on_stop, [self.session], None, api_visibility="private", queue=False
        )
        self.regen_btn.click(
            self.on_regenerate,
            [self.session, self.conv_id, self.persona, self.speak_toggle],
            turn_outputs,
            api_name="regenerate",
            show_progress_on=[self.chatbot],
        )
        self.edit_btn.click(
            self.on_edit,
            send_inputs,
            turn_outputs,
            api_name="edit_last",
            show_progress_on=[self.chatbot],
        )
        self.new_btn.click(
            self.on_new,
            [self.session, self.persona],
            [self.chatbot, self.conv_id, self.conversations, self.title, self.shown, self.greeting],
            api_visibility="private",
        )
        self.conversations.input(
            self.on_select,
            [self.conversations, self.session, self.persona],
            [self.chatbot, self.conv_id, self.title, self.persona, self.shown, self.greeting],
            api_visibility="private",
        )
        self.persona.input(
            self.on_persona,
            [self.persona, self.session, self.conv_id],
            [self.chatbot, self.greeting],
            api_visibility="private",
        )
        self.rename_btn.click(
            self.on_rename,
            [self.title, self.session, self.conv_id],
            [self.conversations],
            api_visibility="private",
        )
        # Delete asks first: the first click arms the button ("Delete for good?"), the
        # second deletes; anything else (another conversation, New) disarms it.
        self.delete_btn.click(
            self.on_delete,
            [self.session, self.conv_id, self.persona, self.delete_armed],
            [
                self.chatbot,
                self.conv_id,
                self.conversations,
                self.title,
                self.shown,
                self.greeting,
                self.delete_btn,
                self.delete_armed,
            ],
            api_visibility="private",
        )
        for disarm in (self.conversations.input, self.new_btn.click):
            disarm(
                lambda s: (gr.update(value=t("chat.delete", (s or {}).get("lang"))), False),
                [self.session],
                [self.delete_btn, self.delete_armed],
                api_visibility="private",
                queue=False,
                show_progress="hidden",
            )
        self.attach.upload(
            self.media.check_image,
            [self.attach, self.session],
            [self.attach],
            api_visibility="private",
            show_progress="hidden",
        )
        for event in (self.mic.stop_recording, self.mic.upload):
            event(
                self.media.transcribe,
                [self.mic, self.session, self.textbox],
                [self.textbox, self.mic],
                api_visibility="private",
            )
        self.chatbot.select(
            self.media.on_select_reply,
            [self.session, self.persona],
            [self.voice_out],
            api_visibility="private",
        )
        self.draw_btn.click(
            self.media.draw,
            [
                self.draw_prompt,
                self.draw_negative,
                self.draw_w,
                self.draw_h,
                self.draw_steps,
                self.draw_seed,
                self.gallery,
                self.session,
            ],
            [self.gallery],
            api_name="draw",
        )
        # Remember the open conversation in the browser, so a reload reopens it.
        self.conv_id.change(
            lambda cid, s: {**(s or {}), "conversation_id": cid},
            [self.conv_id, self.session],
            [self.session],
            api_visibility="private",
            queue=False,
        )
        poll = gr.Timer(5.0)
        poll.tick(
            self.on_poll,
            [self.session, self.conv_id, self.shown],
            [self.chatbot, self.shown],
            api_visibility="private",
            queue=False,
            show_progress="hidden",
        )

    # -- helpers -----------------------------------------------------------------------
    def user(self, session: dict[str, Any] | None) -> str:
        return user_of(self.services.session_signer, session)

    def _persona_choices(self) -> list[tuple[str, str]]:
        return [(p.name, p.id) for p in self.services.soul.list_personas()]

    async def _persona_choices_async(self, user_id: str) -> list[tuple[str, str]]:
        personas = await self.services.soul.list_personas_async(user_id)  # theirs + shared
        return [(p.name, p.id) for p in personas]

    async def _conversation_choices(self, user_id: str, selected: str | None) -> Any:
        convs = await self.services.chat.list_conversations(user_id)
        choices = [(c.title, c.id) for c in convs]
        ids = {c.id for c in convs}
        return gr.update(choices=choices, value=selected if selected in ids else None)

    async def _history(
        self, user_id: str, conv_id: str | None, lang: str, answering: bool = False
    ) -> tuple[ChatHistory, int]:
        if not conv_id:
            return [], 0
        msgs = await self.services.chat.list_messages(user_id, conv_id)  # [] if not theirs
        shown = to_chatbot(
            msgs,
            lang,
            self.services.media.artifact_path,
            self._persona_name,
            answering=answering or self.services.chat.is_running(user_id),
        )
        return shown, len(msgs)

    async def _with_faces(self, history: ChatHistory, user_id: str, persona_id: str | None) -> Any:
        """The chat with who is in it: the persona's avatar and name, the user's avatar
        (gradio's Chatbot has one picture per side, so a persona switch changes them all)."""
        try:
            persona = await self.services.soul.get_persona_async(
                persona_id or self.services.defaults.persona
            )
            faces = (
                await asyncio.to_thread(user_avatar, user_id),
                await asyncio.to_thread(persona_avatar, persona),
            )
        except (IkarError, OSError):  # no pictures is no reason to hide the chat
            return history
        return gr.update(value=history, avatar_images=faces, label=persona.name, show_label=True)

    def _persona_name(self, persona_id: str) -> str:
        try:
            return self.services.soul.get_persona(persona_id).name  # cached by the soul
        except IkarError:
            return persona_id

    def model_status_text(self, lang: str) -> str:
        status = self.services.models.status()
        profile = self.services.models.profiles.get(status.model)
        label = profile.label if profile else status.model
        if status.state == "loading":
            pct = int(self.services.models.load_progress * 100)
            return f"◌ {t('chat.loading_model', lang)} {pct}%"
        # Text symbols, not emoji: they render where no emoji font is installed.
        icon = {"ready": "●", "failed": "✕", "unloaded": "○"}.get(status.state, "○")
        detail = f" — {status.detail}" if status.detail else ""
        key = f"chat.state.{status.state}"
        state = t(key, lang) if key in MESSAGES else status.state
        return f"{icon} **{t('chat.model_status', lang)}:** {label} ({state}){detail}"

    # -- callbacks ---------------------------------------------------------------------
    def load_outputs(self) -> list[Any]:
        return [
            self.chatbot,
            self.conv_id,
            self.conversations,
            self.model_status,
            self.shown,
            self.persona,
            self.greeting,
        ]

    async def on_load(self, session: dict[str, Any]) -> list[Any]:
        user_id, lang = self.user(session), session["lang"]
        conv_id = session.get("conversation_id")
        if "conversation_id" not in session:
            # The browser never learned which conversation was open (e.g. the app stopped
            # before the tab stored it): reopen the latest one rather than hide it. After
            # "New" the key is there (None) and the empty chat stays.
            latest = await self.services.chat.list_conversations(user_id)
            conv_id = latest[0].id if latest else None
        history, shown = await self._history(user_id, conv_id, lang)
        history += self._running_bubble(user_id, conv_id, lang)
        choices = await self._persona_choices_async(user_id)
        persona: Any = gr.update(choices=choices, value=self.services.defaults.persona)
        greeting = ""
        if not history or conv_id is None:
            conv_id = None
            greeting = await self._greeting(self.services.defaults.persona, session)
            history = _greeted(greeting)
        persona_id = self.services.defaults.persona
        if conv_id is not None:
            conv = await self.services.chat.get_conversation(user_id, conv_id)
            if conv.persona_id:
                persona = gr.update(choices=choices, value=conv.persona_id)
                persona_id = conv.persona_id
        return [
            await self._with_faces(history, user_id, persona_id),
            conv_id,
            await self._conversation_choices(user_id, conv_id),
            self.model_status_text(lang),
            shown,
            persona,
            greeting,
        ]

    async def on_poll(
        self,
        session: dict[str, Any] | None,
        conv_id: str | None,
        shown: int,
        request: gr.Request | None = None,
    ) -> tuple[Any, Any]:
        """Show messages that arrived without the user asking (the soul wrote first), and
        in a page opened or reloaded while a reply is written, that reply so far (the tab
        that sent the message streams it itself)."""
        if not session or not conv_id:
            return gr.skip(), gr.skip()
        user_id = self.user(session)
        if self.services.chat.is_running(user_id):
            if request is not None and request.session_hash in self._busy:
                return gr.skip(), gr.skip()  # this tab streams the reply itself
            running = self._running_bubble(user_id, conv_id, session["lang"])
            if not running:
                return gr.skip(), gr.skip()
            history, count = await self._history(user_id, conv_id, session["lang"])
            return history + running, count
        # Every open tab polls every few seconds: count first, render only when it changed.
        count = await self.services.chat.count_messages(user_id, conv_id)
        if count == shown:
            return gr.skip(), gr.skip()
        history, count = await self._history(user_id, conv_id, session["lang"])
        return history, count

    def _running_bubble(self, user_id: str, conv_id: str | None, lang: str) -> ChatHistory:
        """The reply being written now in this conversation, as far as it got and marked
        as unfinished ([] when none is)."""
        running = self.services.chat.running_reply(user_id)
        if running is None or not conv_id or running.conversation_id != conv_id:
            return []
        elapsed = time.monotonic() - running.started
        text = hide_partial_marker(running.text).strip()
        if not text:
            position = self.services.chat.queue_position(user_id) or 0
            return [_waiting(lang, elapsed, position)]
        note = t("chat.still_writing", lang, s=int(elapsed))
        return [{"role": "assistant", "content": f"{text}\n\n*{note}*"}]

    def _detached(self, events: AsyncIterator[ChatEvent]) -> AsyncIterator[ChatEvent]:
        """The turn's events, driven by a task of its own: a page reloaded or closed while
        the reply is written stops only the watching (gradio cancels its handler), not the
        turn, which is written and stored; the reloaded page shows it (`_running_bubble`)."""
        queue: asyncio.Queue[ChatEvent | Exception | None] = asyncio.Queue()

        async def pump() -> None:
            try:
                async for event in events:
                    queue.put_nowait(event)
            except Exception as exc:  # raised where the page reads it (IkarError: a toast)
                queue.put_nowait(exc)
            finally:
                queue.put_nowait(None)

        task = asyncio.create_task(pump())
        self._detached_turns.add(task)
        task.add_done_callback(self._detached_turns.discard)

        async def read() -> AsyncIterator[ChatEvent]:
            while (item := await queue.get()) is not None:
                if isinstance(item, Exception):
                    raise item
                yield item

        return read()

    async def _run_turn(
        self,
        events: AsyncIterator[ChatEvent],
        history: ChatHistory,
        session: dict[str, Any],
        conv_id: str | None,
        typed: str,
        speak: bool,
        persona_id: str | None,
    ) -> AsyncIterator[tuple[Any, ...]]:
        lang = session["lang"]
        reply = ""
        skip = gr.skip()
        started = time.monotonic()
        waiting = False  # the reply's bubble shows the wait, until the first word
        position = 0  # where the turn stands in the model's line (0: its turn)
        try:
            async for event in _with_ticks(self._detached(events), WAIT_TICK_S):
                if event is None:  # still waiting for the first word: say so, with the time
                    if waiting:
                        history[-1] = _waiting(lang, time.monotonic() - started, position)
                        yield history, skip, conv_id, skip, skip, skip, skip, skip
                    continue
                if event.type == "queued":  # others are ahead: say where this one stands
                    position = event.position or 0
                    if waiting:
                        history[-1] = _waiting(lang, time.monotonic() - started, position)
                        yield history, skip, conv_id, skip, skip, skip, skip, skip
                elif event.type == "started":
                    conv_id = event.conversation_id
                    history = [*history, _waiting(lang, time.monotonic() - started)]
                    waiting = True
                    yield (
                        history,
                        skip,
                        conv_id,
                        skip,
                        self.model_status_text(lang),
                        None,
                        skip,
                        skip,
                    )
                elif event.type == "token":
                    waiting = False
                    reply += event.text
                    history[-1] = {"role": "assistant", "content": hide_partial_marker(reply)}
                    yield history, skip, conv_id, skip, skip, skip, skip, skip
                elif event.type == "done":
                    waiting = False
                    final, shown = await self._history(self.user(session), conv_id, lang)
                    voice: Any = skip
                    made = (event.outcome.media if event.outcome else None) or []
                    speech = [m for m in made if m.kind == "speech" and m.key]
                    if speech and speak:  # plays only with spoken replies on; else a click
                        path = self.services.media.artifact_path(str(speech[0].key))
                        voice = str(path) if path else skip
                    elif speak and event.reply:  # in the voice of the persona that answered
                        who = (event.outcome.persona if event.outcome else None) or persona_id
                        voice = await self.media.speak(event.reply, who, session) or skip
                    yield (
                        final,
                        skip,
                        conv_id,
                        await self._conversation_choices(self.user(session), conv_id),
                        self.model_status_text(lang),
                        skip,
                        voice,
                        shown,
                    )
                elif event.type == "error" and event.failure is not None:
                    waiting = False
                    message = failure_text(event.failure, lang)
                    warning(message, lang)
                    history[-1] = {"role": "assistant", "content": f"⚠ {message}"}
                    yield (  # the message is stored and shown: the box keeps any new draft
                        history,
                        skip,
                        conv_id,
                        skip,
                        self.model_status_text(lang),
                        skip,
                        skip,
                        skip,
                    )
        except IkarError as exc:  # refused before anything was stored: the text stays
            warn(exc, lang)
            yield skip, _box(displayable(typed)), conv_id, skip, skip, skip, skip, skip

    async def on_send(
        self,
        text: str,
        session: dict[str, Any],
        conv_id: str | None,
        persona_id: str | None,
        attach: str | None,
        speak: bool,
        greeting: str | None = None,
        request: gr.Request | None = None,
        progress: gr.Progress = gr.Progress(),
    ) -> AsyncIterator[tuple[Any, ...]]:
        turn = self._send(text, session, conv_id, persona_id, attach, speak, greeting, progress)
        async for update in self._as_turn(turn, session, request):
            yield update

    async def _send(
        self,
        text: str,
        session: dict[str, Any],
        conv_id: str | None,
        persona_id: str | None,
        attach: str | None,
        speak: bool,
        greeting: str | None,
        progress: gr.Progress,
    ) -> AsyncIterator[tuple[Any, ...]]:
        skip = gr.skip()
        if not session:  # Enter pressed before the page load signed this tab's session
            warning(
                t("chat.still_loading", self.services.settings.language),
                self.services.settings.language,
            )
            yield skip, _box(text), conv_id, skip, skip, skip, skip, skip
            return
        lang = session["lang"]
        try:
            self.services.chat.validate_message(text)
        except IkarError as exc:
            warn(exc, lang)
            yield skip, _box(displayable(text)), conv_id, skip, skip, skip, skip, skip
            return
        meta: dict[str, object] = {}
        if attach:
            read = await self.media.read_image(attach, session, progress)
            if read is None:
                yield skip, _box(text), conv_id, skip, skip, skip, skip, skip
                return
            meta["attachment_text"] = read
        history, _ = await self._history(self.user(session), conv_id, lang)
        if conv_id is None:
            history = _greeted(greeting or "")
        history.append({"role": "user", "content": text})
        if meta.get("attachment_text"):
            history.append(
                {
                    "role": "user",
                    "content": str(meta["attachment_text"]),
                    "metadata": {"title": t("chat.attachment_text", lang)},
                }
            )
        yield history, _box(""), conv_id, skip, skip, None, skip, skip
        events = self.services.chat.send(
            self.user(session),
            text,
            conversation_id=conv_id,
            persona_id=persona_id,
            language=lang,
            meta=meta,
            greeting=greeting if conv_id is None else None,
        )
        async for update in self._run_turn(
            events, history, session, conv_id, text, speak, persona_id
        ):
            yield update

    async def _as_turn(
        self,
        updates: AsyncIterator[tuple[Any, ...]],
        session: dict[str, Any] | None,
        request: gr.Request | None,
    ) -> AsyncIterator[tuple[Any, ...]]:
        """Run one turn of this browser tab at a time, with Send turned into "Queue" while
        it runs; a message queued meanwhile (`on_queue`) is sent when it ends."""
        skip = gr.skip()
        lang = (session or {}).get("lang") or self.services.settings.language
        key = request.session_hash if request is not None else None
        if key:
            while key in self._busy:  # e.g. Send pressed while Regenerate runs
                await asyncio.sleep(0.2)
            self._busy.add(key)
        # The last update repeats the latest value of each output, so an API client's
        # result is the turn's final state; not the box (cleared at the start, it may hold
        # a new draft now) nor the voice (it would play again).
        latest: list[Any] = [skip] * 8
        try:
            first = True
            async for update in updates:
                pairs = zip(latest, update, strict=True)
                # Copies: gradio takes the value out of an update dict as it sends it.
                latest = [old if new == skip else _copied(new) for old, new in pairs]
                if first:
                    yield (*update, gr.update(value=t("chat.queue", lang)), "")
                    first = False
                else:
                    yield (*update, skip, skip)
        finally:
            if key:
                self._busy.discard(key)
        latest[1] = latest[6] = skip
        yield (*latest, gr.update(value=t("chat.send", lang)), skip)

    def on_queue(
        self, text: str, session: dict[str, Any] | None, request: gr.Request
    ) -> tuple[Any, Any]:
        """A message sent while this tab's reply is being written: it stays in the box, the
        box is locked and says it is queued; the deferred send takes it from there."""
        if not session or not (text or "").strip() or request.session_hash not in self._busy:
            return gr.skip(), gr.skip()
        return gr.update(interactive=False), t("chat.queued", session["lang"])

    async def on_regenerate(
        self,
        session: dict[str, Any],
        conv_id: str | None,
        persona_id: str | None,
        speak: bool,
        request: gr.Request | None = None,
    ) -> AsyncIterator[tuple[Any, ...]]:
        turn = self._regenerate(session, conv_id, persona_id, speak)
        async for update in self._as_turn(turn, session, request):
            yield update

    async def _regenerate(
        self, session: dict[str, Any], conv_id: str | None, persona_id: str | None, speak: bool
    ) -> AsyncIterator[tuple[Any, ...]]:
        lang = session["lang"]
        if not conv_id:
            warning(t("error.nothing_to_regenerate", lang), lang)
            return
        history, _ = await self._history(self.user(session), conv_id, lang)
        while history and history[-1]["role"] == "assistant":
            history.pop()
        events = self.services.chat.regenerate(self.user(session), conv_id, language=lang)
        async for update in self._run_turn(
            events, history, session, conv_id, "", speak, persona_id
        ):
            yield update

    async def on_edit(
        self,
        text: str,
        session: dict[str, Any],
        conv_id: str | None,
        persona_id: str | None,
        attach: str | None,
        speak: bool,
        greeting: str | None = None,
        request: gr.Request | None = None,
    ) -> AsyncIterator[tuple[Any, ...]]:
        turn = self._edit(text, session, conv_id, persona_id, speak)
        async for update in self._as_turn(turn, session, request):
            yield update

    async def _edit(
        self,
        text: str,
        session: dict[str, Any],
        conv_id: str | None,
        persona_id: str | None,
        speak: bool,
    ) -> AsyncIterator[tuple[Any, ...]]:
        lang = session["lang"]
        if not conv_id:
            warning(t("error.nothing_to_edit", lang), lang)
            return
        history, _ = await self._history(self.user(session), conv_id, lang)
        while history and history[-1]["role"] == "assistant":
            history.pop()
        while history and history[-1]["role"] == "user":
            history.pop()
        history.append({"role": "user", "content": text})
        skip = gr.skip()
        yield history, _box(""), conv_id, skip, skip, skip, skip, skip
        events = self.services.chat.edit_last(self.user(session), conv_id, text, language=lang)
        async for update in self._run_turn(
            events, history, session, conv_id, text, speak, persona_id
        ):
            yield update

    def on_stop(self, session: dict[str, Any]) -> None:
        self.services.chat.stop(self.user(session))

    async def on_new(self, session: dict[str, Any], persona_id: str | None) -> tuple[Any, ...]:
        greeting = await self._greeting(persona_id, session)
        choices = await self._conversation_choices(self.user(session), None)
        chat = await self._with_faces(_greeted(greeting), self.user(session), persona_id)
        return chat, None, choices, "", 0, greeting

    async def on_persona(
        self, persona_id: str | None, session: dict[str, Any], conv_id: str | None
    ) -> tuple[Any, Any]:
        """Another persona on an empty chat: its greeting (mid-chat, the switch is recorded
        with the next message)."""
        if conv_id:  # the history stays; the faces change
            history, _ = await self._history(self.user(session), conv_id, session["lang"])
            return await self._with_faces(history, self.user(session), persona_id), gr.skip()
        greeting = await self._greeting(persona_id, session)
        return await self._with_faces(_greeted(greeting), self.user(session), persona_id), greeting

    async def _greeting(self, persona_id: str | None, session: dict[str, Any]) -> str:
        """The persona card's first message or one of its alternate greetings (SillyTavern's
        `first_mes`, `alternate_greetings`), macros filled in; "" if it has none."""
        try:
            persona = await self.services.soul.get_persona_async(
                persona_id or self.services.defaults.persona
            )
        except IkarError:
            return ""
        data = persona.card.data
        options = [g for g in [data.first_mes, *data.alternate_greetings] if g and g.strip()]
        if not options:
            return ""
        user_name = current_login() or t("chat.you", session.get("lang"))
        return substitute_macros(random.choice(options), persona.name, user_name)

    async def on_select(
        self, conv_id: str | None, session: dict[str, Any], persona_id: str | None = None
    ) -> tuple[Any, ...]:
        history, shown = await self._history(self.user(session), conv_id, session["lang"])
        title = ""
        persona: Any = gr.skip()
        greeting = ""
        if conv_id:
            try:
                conv = await self.services.chat.get_conversation(self.user(session), conv_id)
                title = conv.title
                persona = conv.persona_id or gr.skip()
            except NotFound:
                conv_id = None
        if conv_id is None:
            greeting = await self._greeting(persona_id, session)
            history = _greeted(greeting)
        who = persona if isinstance(persona, str) else persona_id
        chat = await self._with_faces(history, self.user(session), who)
        return chat, conv_id, title, persona, shown, greeting

    async def on_rename(self, title: str, session: dict[str, Any], conv_id: str | None) -> Any:
        if conv_id:
            # Deleted in another tab meanwhile: the refreshed list shows it is gone.
            with contextlib.suppress(NotFound):
                await self.services.chat.rename_conversation(self.user(session), conv_id, title)
        return await self._conversation_choices(self.user(session), conv_id)

    async def on_delete(
        self,
        session: dict[str, Any],
        conv_id: str | None,
        persona_id: str | None = None,
        armed: bool = True,
    ) -> tuple[Any, ...]:
        lang = session["lang"]
        if not conv_id:
            return (*[gr.skip()] * 6, gr.skip(), False)
        if not armed:  # the first click: ask
            warning(t("chat.delete_confirm_hint", lang), lang)
            return (*[gr.skip()] * 6, gr.update(value=t("chat.delete_confirm", lang)), True)
        if conv_id:
            try:
                await self.services.chat.delete_conversation(self.user(session), conv_id)
                info(t("chat.deleted", session["lang"]), session["lang"])
            except NotFound:
                pass  # already gone (deleted in another tab)
        greeting = await self._greeting(persona_id, session)
        choices = await self._conversation_choices(self.user(session), None)
        button = gr.update(value=t("chat.delete", lang))
        return _greeted(greeting), None, choices, "", 0, greeting, button, False


WAIT_TICK_S = 1.0


def _waiting(lang: str, elapsed_s: float, position: int = 0) -> dict[str, Any]:
    """The reply's bubble before its first word: what is happening and for how long, and
    the place in the model's line while others are ahead."""
    text = t("chat.writing", lang, s=int(elapsed_s))
    if position > 0:
        text = f"{t('chat.queue_position', lang, position=position)} · {text}"
    return {"role": "assistant", "content": f"*{text}*"}


async def _with_ticks(
    events: AsyncIterator[ChatEvent], every_s: float
) -> AsyncIterator[ChatEvent | None]:
    """`events`, with a None whenever `every_s` passes without one (to update a clock)."""
    iterator = aiter(events)
    pending: asyncio.Future[ChatEvent] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=every_s)
            if not done:
                yield None
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield event
    finally:
        if pending is not None and not pending.done():
            pending.cancel()


def _greeted(greeting: str) -> ChatHistory:
    """An empty chat: the persona's greeting, if it has one."""
    return [{"role": "assistant", "content": greeting}] if greeting else []


def _copied(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


def _box(text: str) -> Any:
    """The message box's new value, unlocked (it is locked while a message is queued)."""
    return gr.update(value=text, interactive=True)
