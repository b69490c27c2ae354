"""Media in a chat turn: tell the model about markers, read them out of its reply, and make
the speech or pictures it asked for through the media job queues."""

from __future__ import annotations

import logging

from app.services.turns import TurnContext
from app.soul import SoulManager
from app.storage.records import Message
from app.storage.repositories import MessageRepository
from media.errors import MediaError
from media.images.base import ImageParams
from media.markers import ImageRequest, SpeakRequest, marker_instructions, parse_markers
from media.service import MediaService

log = logging.getLogger(__name__)

MAX_REQUESTS_PER_REPLY = 3


class MediaTurnHook:
    def __init__(self, media: MediaService, soul: SoulManager, messages: MessageRepository) -> None:
        self.media = media
        self.soul = soul
        self.messages = messages

    def before_prompt(self, ctx: TurnContext) -> None:
        attached = ctx.user_message.meta.get("attachment_text")
        if attached:
            ctx.extras["attachment_text"] = str(attached)
        if ctx.persona_id is None:
            return
        persona = self.soul.get_persona(ctx.persona_id)
        if persona.settings.media_markers:
            ctx.extras["media_instructions"] = marker_instructions(persona.language)
        if persona.settings.voice:
            ctx.extras["_voice"] = persona.settings.voice

    def transform_reply(self, ctx: TurnContext, reply: str) -> str:
        clean, requests = parse_markers(reply)
        ctx.extras["_media_requests"] = requests[:MAX_REQUESTS_PER_REPLY]
        if not clean.strip():
            # Small models sometimes answer with a SPEAK marker alone: what they say aloud
            # is the reply, so the chat shows it too instead of an empty bubble.
            clean = " ".join(r.text for r in requests if isinstance(r, SpeakRequest)).strip()
        return clean

    async def after_reply(self, ctx: TurnContext, reply: Message) -> None:
        requests = ctx.extras.get("_media_requests") or []
        if not requests:
            return
        produced: list[dict[str, object]] = []
        for request in requests:
            try:
                if isinstance(request, SpeakRequest):
                    art = await self.media.tts(
                        request.text, request.voice or ctx.extras.get("_voice")
                    )
                    produced.append(
                        {
                            "kind": "speech",
                            "key": art.key,
                            "media_type": art.media_type,
                            "text": request.text,
                        }
                    )
                elif isinstance(request, ImageRequest):
                    params = ImageParams(**request.model_dump(exclude={"kind"}))
                    art = await self.media.generate_image(params)
                    produced.append(
                        {
                            "kind": "image",
                            "key": art.key,
                            "media_type": art.media_type,
                            "prompt": request.prompt,
                            "seed": art.meta.get("seed"),
                        }
                    )
            except MediaError as exc:  # e.g. no image model configured: say so, keep the reply
                produced.append({"kind": request.kind, "error": str(exc)})
        ctx.extras["media"] = produced
        await_meta = {**reply.meta, "media": produced}
        self.messages.update_meta(reply.user_id, reply.id, await_meta)
