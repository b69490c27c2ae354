"""The chat's voice, eyes and drawing: callbacks that hand the work to `MediaService`."""

from __future__ import annotations

import asyncio
from typing import Any

import gradio as gr

from app.composition import Services
from app.i18n import t
from app.services.media_turns import speak_as_persona
from app.ui.errors import warn, warning
from app.ui.session import user_of
from app.ui.uploads import uploaded_bytes
from config.errors import IkarError
from config.validation import check_text
from media.image_input import is_image
from media.images.base import ImageParams


def progress_bridge(progress: gr.Progress) -> Any:
    """Media jobs report (fraction, text) from a worker thread; gradio shows a bar."""

    def report(fraction: float, description: str) -> None:
        progress(min(max(fraction, 0.0), 1.0), desc=description)

    return report


class ChatMedia:
    """Media work asked for in the chat tab, made for (and charged to) the session's user:
    the rate limit and upload size are the media service's, as for the REST API."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def user(self, session: dict[str, Any] | None) -> str:
        return user_of(self.services.session_signer, session)

    async def read_image(
        self, path: str, session: dict[str, Any], progress: gr.Progress
    ) -> str | None:
        """The text in an attached image, or None after telling the user what went wrong."""
        lang = session["lang"]
        progress(0.0, desc=t("chat.reading_image", lang))
        try:
            data = await uploaded_bytes(path, self.services.settings.max_upload_bytes)
            if not await asyncio.to_thread(is_image, data):
                warning(t("chat.not_an_image", lang), lang)
                return None
            result = await self.services.media.ocr(
                data, owner=self.user(session), progress=progress_bridge(progress)
            )
        except IkarError as exc:
            warn(exc, lang)
            return None
        except OSError as exc:
            warning(t("error.media_failed", lang, detail=str(exc)), lang)
            return None
        return result.text

    async def check_image(self, path: str | None, session: dict[str, Any] | None) -> Any:
        """Right after an upload: a file that is not an image is refused at once, with one
        clear message, and taken out of the box."""
        if not path or not session:
            return gr.skip()
        try:
            data = await uploaded_bytes(path, self.services.settings.max_upload_bytes)
        except IkarError as exc:
            warn(exc, session["lang"])
            return None
        if await asyncio.to_thread(is_image, data):
            return gr.skip()
        warning(t("chat.not_an_image", session["lang"]), session["lang"])
        return None

    async def transcribe(
        self,
        audio_path: str | None,
        session: dict[str, Any],
        current: str,
        progress: gr.Progress = gr.Progress(),
    ) -> tuple[Any, Any]:
        """Microphone → text in the input box (editable before sending)."""
        if not audio_path:
            return gr.skip(), gr.skip()
        lang = session["lang"]
        progress(0.0, desc=t("chat.transcribing", lang))
        try:
            data = await uploaded_bytes(audio_path, self.services.settings.max_upload_bytes)
            heard = await self.services.media.stt(data, language=lang, owner=self.user(session))
        except IkarError as exc:
            warn(exc, lang)
            return gr.skip(), None
        except OSError as exc:
            warning(t("error.media_failed", lang, detail=str(exc)), lang)
            return gr.skip(), None
        text = f"{current.rstrip()} {heard.text}".strip() if current else heard.text
        return text, None

    async def speak(self, text: str, persona_id: str | None, session: dict[str, Any]) -> str | None:
        """A WAV path in the artifact cache for `text`, spoken in the persona's voice (or, if
        it has none, cannot be found or does not speak the reply's language, the voice of
        the reply's language)."""
        lang = session["lang"]
        voice, persona_language = None, None
        if persona_id:
            try:
                persona = await self.services.soul.get_persona_async(persona_id)
                voice, persona_language = persona.settings.voice, persona.language
            except IkarError:  # deleted meanwhile: the reply's language decides
                voice = None
        try:
            art = await speak_as_persona(
                self.services.media,
                text,
                voice=voice,
                persona_language=persona_language or lang,
                owner=self.user(session),
            )
        except IkarError as exc:
            warn(exc, lang)
            return None
        return str(art.path) if art.path else None

    async def on_select_reply(
        self, session: dict[str, Any], persona_id: str | None, evt: gr.SelectData
    ) -> Any:
        """Clicking a reply plays it: a play button on every message."""
        value = evt.value
        text = (
            value
            if isinstance(value, str)
            else (value or {}).get("text")
            if isinstance(value, dict)
            else None
        )
        if isinstance(value, list):
            text = " ".join(str(v.get("text", "")) for v in value if isinstance(v, dict))
        if not text or not str(text).strip():
            return gr.skip()
        return await self.speak(str(text), persona_id, session)

    async def draw(
        self,
        prompt: str,
        negative: str,
        width: float,
        height: float,
        steps: float,
        seed: float,
        gallery: list[Any] | None,
        session: dict[str, Any],
        progress: gr.Progress = gr.Progress(),
    ) -> Any:
        lang = session["lang"]
        if not prompt or not prompt.strip():
            warning(t("error.empty_message", lang), lang)
            return gr.skip()
        progress(0.0, desc=t("chat.drawing", lang))
        try:
            check_text(prompt, "prompt")
            check_text(negative or "", "negative_prompt")
            params = ImageParams(
                prompt=prompt,
                negative_prompt=negative or None,
                width=int(width),
                height=int(height),
                steps=int(steps),
                seed=int(seed) if seed else None,
            )
            art = await self.services.media.generate_image(
                params, owner=self.user(session), progress=progress_bridge(progress)
            )
        except IkarError as exc:
            warn(exc, lang)
            return gr.skip()
        except ValueError as exc:  # parameters out of range
            warning(t("error.media_failed", lang, detail=str(exc)), lang)
            return gr.skip()
        items = [item for item in (gallery or [])]
        caption = f"{prompt[:60]} (seed {art.meta.get('seed')})"
        return [(str(art.path), caption), *items][:24]
