"""Admin tables speak the user's language: translated headers, words for yes/no and states."""

import gradio as gr
import pytest

from app.composition import Services
from app.i18n import t
from app.ui.admin_tab import AdminTab
from app.ui.labels import Labels


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_admin_tables_have_translated_headers_and_plain_words(
    services: Services, lang: str
) -> None:
    services.users.get_or_create("alice")
    tab = AdminTab(services, Labels(), gr.BrowserState(None))
    users = tab.users_frame(lang)
    models = tab.models_frame(lang)
    raw = {"has_password", "configured_default", "conversations", "label"}
    assert not raw & set(users.columns) and not raw & set(models.columns)
    assert t("admin.col.has_password", lang) in users.columns
    assert t("admin.col.configured_default", lang) in models.columns
    row = users[users[t("admin.col.id", lang)] == "alice"].iloc[0]
    assert row[t("admin.col.has_password", lang)] == t("admin.no", lang)
    words = {t("admin.yes", lang), t("admin.no", lang)}
    assert set(models[t("admin.col.active", lang)]) <= words
    states = {t(f"chat.state.{s}", lang) for s in ("ready", "loading", "failed", "unloaded")}
    assert set(models[t("admin.col.state", lang)]) <= states
