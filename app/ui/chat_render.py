"""How stored messages look in `gr.Chatbot`: text, what was remembered, attachments, media."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.i18n import t
from app.storage.records import Message

ChatHistory = list[dict[str, Any]]
ArtifactPath = Callable[[str], Path | None]

MAX_MEMORY_LINES = 6


def to_chatbot(
    messages: list[Message],
    lang: str,
    artifact_path: ArtifactPath,
    persona_name: Callable[[str], str] | None = None,
    answering: bool = False,
) -> ChatHistory:
    """`answering`: a reply to the last message is being written now (else a last message
    without a reply is marked as such, not left looking ignored)."""
    out: ChatHistory = []
    last_role: str | None = None
    for m in messages:
        if m.role == "system":
            switch = m.meta.get("persona_switch")
            if switch and switch.get("to"):  # a persona switch mid-chat shows where it happened
                to = str(switch["to"])
                name = persona_name(to) if persona_name else to
                out.append(
                    {
                        "role": "assistant",
                        "content": f"*{t('chat.persona_switched', lang, name=name)}*",
                    }
                )
            continue
        if m.role == "user":
            if last_role == "user":  # its reply failed: two messages, never one merged turn
                out.append({"role": "assistant", "content": f"*{t('chat.no_reply', lang)}*"})
            last_role = "user"
            out.append({"role": "user", "content": m.content})
            attached = m.meta.get("attachment_text")
            if attached:
                out.append(_folded("user", t("chat.attachment_text", lang), str(attached)))
            continue
        last_role = "assistant"
        memories = m.meta.get("memories") or []
        if memories:
            lines = "\n".join(
                f"• {mem.get('text', '')[:300]}" for mem in memories[:MAX_MEMORY_LINES]
            )
            out.append(_folded("assistant", t("chat.remembered", lang), lines))
        content = m.content
        if m.meta.get("unprompted"):
            content = f"*{t('chat.wrote_first', lang)}*\n\n{content}"
        if m.meta.get("stopped"):
            content = f"{content} {t('chat.stopped', lang)}"
        if m.meta.get("cut_short"):
            content = f"{content} *{t('chat.cut_short', lang)}*"
        out.append({"role": "assistant", "content": content})
        out.extend(media_messages(m.meta.get("media") or [], lang, artifact_path))
    if last_role == "user" and not answering:
        out.append({"role": "assistant", "content": f"*{t('chat.no_reply', lang)}*"})
    return out


def media_messages(
    media: list[dict[str, Any]], lang: str, artifact_path: ArtifactPath
) -> ChatHistory:
    """Speech and pictures the model asked for, as playable/viewable chat messages."""
    out: ChatHistory = []
    for item in media:
        key = item.get("key")
        if item.get("error"):
            said = (item.get("messages") or {}).get(lang) or item["error"]  # ru/en if known
            out.append(_folded("assistant", t("chat.media_failed", lang), str(said)))
            continue
        path = artifact_path(str(key)) if key else None
        if path is not None:
            out.append({"role": "assistant", "content": {"path": str(path)}})
    return out


def _folded(role: str, title: str, text: str) -> dict[str, Any]:
    """A collapsible box in the chat (gradio renders `metadata.title` as a fold)."""
    return {"role": role, "content": text, "metadata": {"title": title, "status": "done"}}
