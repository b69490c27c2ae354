"""Media in a chat turn: tell the model about markers, read them out of its reply, and make
the speech or pictures it asked for through the media job queues; and a persona's voice,
the one rule for every reply spoken aloud (SPEAK markers, the chat's "speak replies")."""

from __future__ import annotations

import logging

from app.errors import message, messages
from app.i18n import LANGS, t
from app.services.turns import MediaResult, TurnContext, TurnSlot
from app.soul import SoulManager
from app.storage.records import Message
from media.errors import MediaError
from media.images.base import ImageParams
from media.language import detect_language, normalize_language
from media.markers import ImageRequest, SpeakRequest, marker_instructions, parse_markers
from media.service import MediaArtifact, MediaService
from media.tts.sentences import clean_speech_text, leading_sentences

log = logging.getLogger(__name__)

MAX_REQUESTS_PER_REPLY = 3


async def speak_as_persona(
    media: MediaService,
    text: str,
    *,
    voice: str | None,
    persona_language: str | None,
    requested: str | None = None,
    owner: str | None = None,
    charge: bool = True,
) -> MediaArtifact:
    """Speak a reply as a persona: `media.tts(text, persona voice, language=reply language)`.

    The reply's language is its letters', else the persona's. A voice the model named
    (`requested`) comes first, then the persona's; one that is not installed or does not
    speak the reply's language falls back to the language's voice (logged by the media
    service). A reply over the speech limit is spoken up to its last whole sentence that
    fits, rather than refused.
    """
    limit = media.config.tts.max_chars
    speakable = leading_sentences(text, limit) if len(text) > limit else text
    language = detect_language(clean_speech_text(speakable)) or normalize_language(persona_language)
    chosen = await media.preferred_voice(requested, speakable, language)
    if chosen is None:
        chosen = await media.preferred_voice(voice, speakable, language)
    return await media.tts(speakable, chosen, language=language, owner=owner, charge=charge)


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
        ctx.media.language = persona.language

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
                produced.append(
                    MediaResult(
                        kind=request.kind,
                        prompt=request.prompt,
                        error=t("chat.image_not_set_up", ctx.language),
                        messages={lang: t("chat.image_not_set_up", lang) for lang in LANGS},
                    )
                )
                continue
            try:
                produced.append(await self._make(ctx, request))
            except MediaError as exc:  # a failed engine: say so, keep the reply
                log.warning("media for a reply failed: %s", exc)
                produced.append(
                    MediaResult(
                        kind=request.kind,
                        error=message(exc, ctx.language),
                        messages=messages(exc),
                    )
                )
        ctx.media.results = produced

    async def _make(self, ctx: TurnContext, request: SpeakRequest | ImageRequest) -> MediaResult:
        # The turn itself was rate-limited as chat; its media are not charged again.
        if isinstance(request, SpeakRequest):
            art = await speak_as_persona(
                self.media,
                request.text,
                voice=ctx.media.voice,
                persona_language=ctx.media.language or ctx.language,
                requested=request.voice,
                owner=ctx.user_id,
                charge=False,
            )
            return MediaResult(
                kind="speech",
                key=art.key,
                media_type=art.media_type,
                text=request.text,
                voice=art.meta.get("voice"),
                language=art.meta.get("language"),
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
