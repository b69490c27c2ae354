"""The whole Gradio UI: a language switch and the tabs, over one `Services` object."""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.composition import Services
from app.i18n import t
from app.ui.chat_tab import ChatTab
from app.ui.labels import Labels
from app.ui.session import browser_user

CSS = """
#model-status { font-size: 0.9em; }
footer { display: none !important; }
"""


def build_ui(services: Services) -> gr.Blocks:
    labels = Labels()
    default_lang = services.settings.language
    with gr.Blocks(title=t("app.title", default_lang), fill_width=True) as blocks:
        session = gr.BrowserState(None, storage_key="ikar_session")
        with gr.Row():
            heading = gr.Markdown(f"## {t('app.title', default_lang)}")
            lang = gr.Radio(
                choices=[("Русский", "ru"), ("English", "en")],
                value=default_lang,
                label=t("app.language", default_lang),
                elem_id="ui-language",
                scale=0,
                min_width=220,
            )
        with gr.Tabs(), gr.Tab(t("tab.chat", default_lang), id="chat") as chat_tab_block:
            labels.add(chat_tab_block, label="tab.chat")
            chat = ChatTab(services, labels, session)
            chat.build()

        def on_language(value: str, stored: dict[str, Any] | None) -> list[Any]:
            new_session = {**(stored or {}), "lang": value}
            return [
                new_session,
                gr.update(label=t("app.language", value)),
                f"## {t('app.title', value)}",
                chat.model_status_text(value),
                *labels.updates(value),
            ]

        lang.input(
            on_language,
            [lang, session],
            [session, lang, heading, chat.model_status, *labels.components],
            api_visibility="private",
            queue=False,
        )

        async def on_load(stored: dict[str, Any] | None, request: gr.Request) -> list[Any]:
            current = browser_user(stored, request)
            history, conv_id, choices, status = await chat.on_load_session(current)
            current["conversation_id"] = conv_id
            lang_update = gr.update(value=current["lang"], label=t("app.language", current["lang"]))
            return [
                current,
                lang_update,
                history,
                conv_id,
                choices,
                status,
                f"## {t('app.title', current['lang'])}",
                *labels.updates(current["lang"]),
            ]

        blocks.load(
            on_load,
            [session],
            [
                session,
                lang,
                chat.chatbot,
                chat.conv_id,
                chat.conversations,
                chat.model_status,
                heading,
                *labels.components,
            ],
            api_visibility="private",
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
