"""The Chat tab: conversations, streaming replies, stop, regenerate, edit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from app.composition import Services
from app.i18n import t
from app.services.errors import ServiceError
from app.services.turns import ChatEvent
from app.storage.records import Message
from app.storage.repositories import NotFoundError
from app.ui.labels import Labels

ChatHistory = list[dict[str, Any]]


def to_chatbot(messages: list[Message], lang: str) -> ChatHistory:
    out: ChatHistory = []
    for m in messages:
        if m.role == "system":
            continue
        content = m.content
        if m.meta.get("stopped"):
            content = f"{content} {t('chat.stopped', lang)}"
        out.append({"role": m.role, "content": content})
    return out


class ChatTab:
    """Builds the tab and owns its callbacks; all decisions are in `services.chat`."""

    title_key = "tab.chat"
    tab_id = "chat"

    def __init__(self, services: Services, labels: Labels, session: gr.BrowserState) -> None:
        self.services = services
        self.labels = labels
        self.session = session

    # -- layout ------------------------------------------------------------------------
    def build(self) -> None:
        lb = self.labels
        with gr.Row():
            with gr.Column(scale=1, min_width=220):
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
                        gr.Button(size="sm", variant="stop"), value="chat.delete"
                    )
                self.model_status = gr.Markdown(elem_id="model-status")
            with gr.Column(scale=4):
                self.chatbot = gr.Chatbot(height=520, elem_id="chatbot", buttons=["copy"])
                self.textbox = lb.add(
                    gr.Textbox(lines=2, max_lines=8, elem_id="chat-input", autofocus=True),
                    label="chat.input",
                    placeholder="chat.placeholder",
                )
                with gr.Row():
                    self.send_btn = lb.add(
                        gr.Button(variant="primary", elem_id="send"), value="chat.send"
                    )
                    self.stop_btn = lb.add(
                        gr.Button(variant="stop", elem_id="stop"), value="chat.stop"
                    )
                    self.regen_btn = lb.add(
                        gr.Button(elem_id="regenerate"), value="chat.regenerate"
                    )
                    self.edit_btn = lb.add(gr.Button(elem_id="edit-last"), value="chat.edit_last")
        self.conv_id = gr.State(None)
        self._wire()

    def _wire(self) -> None:
        turn_outputs = [
            self.chatbot,
            self.textbox,
            self.conv_id,
            self.conversations,
            self.model_status,
        ]
        send_inputs = [self.textbox, self.session, self.conv_id]
        sent = self.textbox.submit(self.on_send, send_inputs, turn_outputs, api_name="send_message")
        clicked = self.send_btn.click(
            self.on_send, send_inputs, turn_outputs, api_visibility="private"
        )
        self.stop_btn.click(
            self.on_stop, [self.session], None, api_visibility="private", queue=False
        )
        self.regen_btn.click(
            self.on_regenerate, [self.session, self.conv_id], turn_outputs, api_name="regenerate"
        )
        self.edit_btn.click(self.on_edit, send_inputs, turn_outputs, api_name="edit_last")
        self.new_btn.click(
            self.on_new,
            [self.session],
            [self.chatbot, self.conv_id, self.conversations, self.title],
            api_visibility="private",
        )
        self.conversations.input(
            self.on_select,
            [self.conversations, self.session],
            [self.chatbot, self.conv_id, self.title],
            api_visibility="private",
        )
        self.rename_btn.click(
            self.on_rename,
            [self.title, self.session, self.conv_id],
            [self.conversations],
            api_visibility="private",
        )
        self.delete_btn.click(
            self.on_delete,
            [self.session, self.conv_id],
            [self.chatbot, self.conv_id, self.conversations, self.title],
            api_visibility="private",
        )
        del sent, clicked
        # Remember the open conversation in the browser, so a reload reopens it.
        self.conv_id.change(
            lambda cid, s: {**(s or {}), "conversation_id": cid},
            [self.conv_id, self.session],
            [self.session],
            api_visibility="private",
            queue=False,
        )

    # -- helpers -----------------------------------------------------------------------
    async def _conversation_choices(self, user_id: str, selected: str | None) -> Any:
        convs = await self.services.db.run(self.services.chat.conversations.list, user_id)
        choices = [(c.title, c.id) for c in convs]
        ids = {c.id for c in convs}
        return gr.update(choices=choices, value=selected if selected in ids else None)

    async def _history(self, user_id: str, conv_id: str | None, lang: str) -> ChatHistory:
        if not conv_id:
            return []
        try:
            msgs = await self.services.db.run(self.services.chat.messages.list, user_id, conv_id)
        except Exception:
            return []
        return to_chatbot(msgs, lang)

    def model_status_text(self, lang: str) -> str:
        status = self.services.models.status()
        label = (
            self.services.models.profiles[status.model].label
            if status.model in self.services.models.profiles
            else status.model
        )
        if status.state == "loading":
            pct = int(self.services.models.load_progress * 100)
            return f"⏳ {t('chat.loading_model', lang)} {pct}%"
        icon = {"ready": "🟢", "failed": "🔴", "unloaded": "⚪"}.get(status.state, "⚪")
        detail = f" — {status.detail}" if status.detail else ""
        return f"{icon} **{t('chat.model_status', lang)}:** {label} ({status.state}){detail}"

    # -- callbacks ---------------------------------------------------------------------
    def load_outputs(self) -> list[Any]:
        return [self.chatbot, self.conv_id, self.conversations, self.model_status]

    async def on_load(self, session: dict[str, Any]) -> list[Any]:
        user_id, lang = session["user_id"], session["lang"]
        conv_id = session.get("conversation_id")
        history = await self._history(user_id, conv_id, lang)
        if not history:
            conv_id = None
        return [
            history,
            conv_id,
            await self._conversation_choices(user_id, conv_id),
            self.model_status_text(lang),
        ]

    async def _run_turn(
        self,
        events: AsyncIterator[ChatEvent],
        history: ChatHistory,
        session: dict[str, Any],
        conv_id: str | None,
        typed: str,
    ) -> AsyncIterator[tuple[Any, ...]]:
        lang = session["lang"]
        reply = ""
        status = self.model_status_text(lang)
        try:
            async for event in events:
                if event.type == "started":
                    conv_id = event.conversation_id
                    history = [*history, {"role": "assistant", "content": "…"}]
                    yield history, "", conv_id, gr.skip(), status
                elif event.type == "token":
                    reply += event.text
                    history[-1] = {"role": "assistant", "content": reply}
                    yield history, "", conv_id, gr.skip(), gr.skip()
                elif event.type == "done":
                    text = event.reply or ""
                    if event.stopped:
                        text = f"{text} {t('chat.stopped', lang)}"
                    history[-1] = {"role": "assistant", "content": text}
                    yield (
                        history,
                        "",
                        conv_id,
                        await self._conversation_choices(session["user_id"], conv_id),
                        self.model_status_text(lang),
                    )
                elif event.type == "error":
                    message = t(event.error or "error.llm_failed", lang, detail=event.error or "")
                    if not (event.error or "").startswith("error."):
                        message = t(f"error.{event.error_code}", lang, detail=event.error or "")
                    gr.Warning(message)
                    history[-1] = {"role": "assistant", "content": f"⚠️ {message}"}
                    yield history, typed, conv_id, gr.skip(), self.model_status_text(lang)
        except ServiceError as exc:
            gr.Warning(t(exc.key, lang, **exc.params))
            yield gr.skip(), typed, conv_id, gr.skip(), gr.skip()

    async def on_send(
        self, text: str, session: dict[str, Any], conv_id: str | None
    ) -> AsyncIterator[tuple[Any, ...]]:
        lang = session["lang"]
        history = await self._history(session["user_id"], conv_id, lang)
        try:
            self.services.chat.validate_message(text)
        except ServiceError as exc:
            gr.Warning(t(exc.key, lang, **exc.params))
            yield gr.skip(), text, conv_id, gr.skip(), gr.skip()
            return
        history.append({"role": "user", "content": text})
        yield history, "", conv_id, gr.skip(), gr.skip()
        events = self.services.chat.send(
            session["user_id"], text, conversation_id=conv_id, language=lang
        )
        async for update in self._run_turn(events, history, session, conv_id, text):
            yield update

    async def on_regenerate(
        self, session: dict[str, Any], conv_id: str | None
    ) -> AsyncIterator[tuple[Any, ...]]:
        lang = session["lang"]
        if not conv_id:
            gr.Warning(t("error.nothing_to_regenerate", lang))
            return
        history = await self._history(session["user_id"], conv_id, lang)
        while history and history[-1]["role"] == "assistant":
            history.pop()
        events = self.services.chat.regenerate(session["user_id"], conv_id, language=lang)
        async for update in self._run_turn(events, history, session, conv_id, ""):
            yield update

    async def on_edit(
        self, text: str, session: dict[str, Any], conv_id: str | None
    ) -> AsyncIterator[tuple[Any, ...]]:
        lang = session["lang"]
        if not conv_id:
            gr.Warning(t("error.nothing_to_edit", lang))
            return
        history = await self._history(session["user_id"], conv_id, lang)
        while history and history[-1]["role"] == "assistant":
            history.pop()
        if history:
            history.pop()
        history.append({"role": "user", "content": text})
        events = self.services.chat.edit_last(session["user_id"], conv_id, text, language=lang)
        async for update in self._run_turn(events, history, session, conv_id, text):
            yield update

    def on_stop(self, session: dict[str, Any]) -> None:
        self.services.chat.stop(session["user_id"])

    async def on_new(self, session: dict[str, Any]) -> tuple[Any, ...]:
        return [], None, await self._conversation_choices(session["user_id"], None), ""

    async def on_select(self, conv_id: str | None, session: dict[str, Any]) -> tuple[Any, ...]:
        history = await self._history(session["user_id"], conv_id, session["lang"])
        title = ""
        if conv_id:
            try:
                conv = await self.services.db.run(
                    self.services.chat.conversations.get, session["user_id"], conv_id
                )
                title = conv.title
            except Exception:
                conv_id = None
        return history, conv_id, title

    async def on_rename(self, title: str, session: dict[str, Any], conv_id: str | None) -> Any:
        title = " ".join((title or "").split())[:120]
        if conv_id and title:
            await self.services.db.run(
                self.services.chat.conversations.rename, session["user_id"], conv_id, title
            )
        return await self._conversation_choices(session["user_id"], conv_id)

    async def on_delete(self, session: dict[str, Any], conv_id: str | None) -> tuple[Any, ...]:
        if conv_id:
            try:
                await self.services.db.run(
                    self.services.chat.conversations.delete, session["user_id"], conv_id
                )
                gr.Info(t("chat.deleted", session["lang"]))
            except NotFoundError:
                pass  # already gone (deleted in another tab)
        return [], None, await self._conversation_choices(session["user_id"], None), ""
