"""The whole Gradio UI: a language switch and the tabs, over one `Services` object."""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.composition import Services
from app.i18n import t
from app.ui.admin_tab import AdminTab
from app.ui.chat_tab import ChatTab
from app.ui.labels import Labels
from app.ui.memory_tab import MemoryTab
from app.ui.session import browser_user
from app.ui.soul_tab import SoulTab
from app.ui.tab import UiTab
from config.errors import IkarError


def build_ui(services: Services) -> gr.Blocks:
    labels = Labels()
    default_lang = services.settings.language
    # analytics off: nothing leaves the machine.
    with gr.Blocks(
        title=t("app.title", default_lang), fill_width=True, analytics_enabled=False
    ) as blocks:
        # Its key is stable across restarts (derived from the persisted session secret), so
        # the same browser comes back as the same user (app/security/sessions.py).
        session = gr.BrowserState(
            None, storage_key="ikar_session", secret=services.session_signer.browser_secret
        )
        with gr.Row(equal_height=True, elem_id="app-header"):
            heading = gr.Markdown(f"## {t('app.title', default_lang)}", elem_id="app-title")
            lang = gr.Radio(
                choices=[("Русский", "ru"), ("English", "en")],
                value=default_lang,
                label=t("app.language", default_lang),
                elem_id="ui-language",
                scale=0,
                min_width=240,
            )
        chat = ChatTab(services, labels, session)
        soul = SoulTab(services, labels, session)
        # Each tab is one class in its own module (see app/ui/tab.py); add new ones here.
        tabs: list[UiTab] = [
            chat,
            soul,
            MemoryTab(services, labels, session),
            AdminTab(services, labels, session),
        ]

        def recolour(event: Any) -> Any:
            """Then the soul plot's colours for the session's language (see plot_colors)."""
            return event.then(
                soul.plot_colors,
                [session],
                [soul.history_plot],
                api_visibility="private",
                queue=False,
                show_progress="hidden",
            )

        with gr.Tabs():
            for tab in tabs:
                with gr.Tab(t(tab.title_key, default_lang), id=tab.tab_id) as block:
                    labels.add(block, label=tab.title_key)
                    tab.build()
                if tab is not chat:  # show what changed in the chat meanwhile
                    selected = block.select(
                        tab.on_load,
                        [session],
                        tab.load_outputs(),
                        api_visibility="private",
                        show_progress="hidden",
                    )
                    if tab is soul:
                        recolour(selected)

        def heading_for(persona_id: str | None, lang: str) -> str:
            """The header names the persona being talked to."""
            try:
                name = services.soul.get_persona(persona_id or services.defaults.persona).name
            except IkarError:
                return f"## {t('app.title', lang)}"
            return f"## {t('app.name', lang)} — {name}"

        def on_language(
            value: str, stored: dict[str, Any] | None, persona_id: str | None
        ) -> list[Any]:
            new_session = {**(stored or {}), "lang": value}
            return [
                new_session,
                gr.update(label=t("app.language", value)),
                heading_for(persona_id, value),
                chat.model_status_text(value),
                *labels.updates(value),
            ]

        lang.input(
            on_language,
            [lang, session, chat.persona],
            [session, lang, heading, chat.model_status, *labels.components],
            api_visibility="private",
            queue=False,
        )

        load_outputs = [out for tab in tabs for out in tab.load_outputs()]

        async def on_load(stored: dict[str, Any] | None, request: gr.Request) -> list[Any]:
            current = browser_user(
                stored,
                request,
                services.session_signer,
                services.auth.user_id_for_name,
                default_lang=default_lang,
            )
            values: list[Any] = []
            for tab in tabs:
                values.extend(await tab.on_load(current))
            lang_update = gr.update(value=current["lang"], label=t("app.language", current["lang"]))
            return [
                current,
                lang_update,
                f"## {t('app.title', current['lang'])}",
                *values,
                *labels.updates(current["lang"]),
            ]

        # Send stays disabled until the load signed this tab's session: a click before
        # that would reach the chat without a user (Enter is guarded in ChatTab.on_send).
        loaded = blocks.load(
            on_load,
            [session],
            [session, lang, heading, *load_outputs, *labels.components],
            api_visibility="private",
        )
        recolour(loaded).then(
            lambda: gr.update(interactive=True),
            None,
            [chat.send_btn],
            api_visibility="private",
            queue=False,
            show_progress="hidden",
        )
        chat.persona.change(
            lambda persona_id, s: heading_for(persona_id, (s or {}).get("lang", default_lang)),
            [chat.persona, session],
            [heading],
            api_visibility="private",
            queue=False,
            show_progress="hidden",
        )
        timer = gr.Timer(3.0)
        timer.tick(
            lambda s: chat.model_status_text((s or {}).get("lang", default_lang)),
            [session],
            [chat.model_status],
            api_visibility="private",
            queue=False,
            show_progress="hidden",
        )
    return blocks
