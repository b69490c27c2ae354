"""Media in a chat turn: tell the model about markers, read them out of its reply, and make
the speech or pictures it asked for through the media job queues."""

from __future__ import annotations

import logging

from app.errors import message
from app.i18n import t
from app.services.turns import MediaResult, TurnContext, TurnSlot
from app.soul import SoulManager
from app.storage.records import Message
from media.errors import MediaError
from media.images.base import ImageParams
from media.markers import ImageRequest, SpeakRequest, marker_instructions, parse_markers
from media.service import MediaService

log = logging.getLogger(__name__)

MAX_REQUESTS_PER_REPLY = 3


class MediaTurnHook:
    """Runs after the soul hook (it reads the resolved persona's media settings).

    The results land in `ctx.media.results`; the chat service stores them with the reply.
    """

    requires: frozenset[TurnSlot] = frozenset({"persona_id"})
    provides: frozenset[TurnSlot] = frozenset({"attachment_text", "media"})

    def __init__(self, media: MediaService, soul: SoulManager) -> None:
        self.media = media
        self.soul = soul

    def before_prompt(self, ctx: TurnContext) -> None:
        attached = ctx.user_message.meta.get("attachment_text")
        if attached:
            ctx.attachment_text = str(attached)
        if ctx.persona_id is None:
            return
        persona = self.soul.get_persona(ctx.persona_id)
        if persona.settings.media_markers:
            ctx.media.instructions = marker_instructions(persona.language)
        if persona.settings.voice:
            ctx.media.voice = persona.settings.voice

    def transform_reply(self, ctx: TurnContext, reply: str) -> str:
        clean, requests = parse_markers(reply)
        ctx.media.requests = requests[:MAX_REQUESTS_PER_REPLY]
        if not clean.strip():
            # Small models sometimes answer with a marker alone: what they say aloud (or
            # what they meant to draw) is the reply, so the chat shows it too instead of an
            # empty bubble, whether or not the media can be made.
            said = " ".join(r.text for r in requests if isinstance(r, SpeakRequest)).strip()
            drawn = "; ".join(r.prompt for r in requests if isinstance(r, ImageRequest))
            clean = said or (f"*{drawn.strip()}*" if drawn.strip() else "")
        return clean

    async def after_reply(self, ctx: TurnContext, reply: Message) -> None:
        if not ctx.media.requests:
            return
        produced: list[MediaResult] = []
        for request in ctx.media.requests:
            if isinstance(request, ImageRequest) and not self.media.config.image.model:
                # Not set up: say how to set it up, in the user's language; the text stays.
                error = t("chat.image_not_set_up", ctx.language)
                produced.append(MediaResult(kind=request.kind, prompt=request.prompt, error=error))
                continue
            try:
                produced.append(await self._make(ctx, request))
            except MediaError as exc:  # a failed engine: say so, keep the reply
                log.warning("media for a reply failed: %s", exc)
                error = message(exc, ctx.language)
                produced.append(MediaResult(kind=request.kind, error=error))
        ctx.media.results = produced

    async def _make(self, ctx: TurnContext, request: SpeakRequest | ImageRequest) -> MediaResult:
        # The turn itself was rate-limited as chat; its media are not charged again.
        if isinstance(request, SpeakRequest):
            voice = request.voice or ctx.media.voice
            art = await self.media.tts(request.text, voice, owner=ctx.user_id, charge=False)
            return MediaResult(
                kind="speech", key=art.key, media_type=art.media_type, text=request.text
            )
        params = ImageParams(**request.model_dump(exclude={"kind"}))
        art = await self.media.generate_image(params, owner=ctx.user_id, charge=False)
        seed = art.meta.get("seed")
        return MediaResult(
            kind="image",
            key=art.key,
            media_type=art.media_type,
            prompt=request.prompt,
            seed=int(seed) if seed is not None else None,
        )
