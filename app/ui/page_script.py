"""What the page needs beyond gradio's components: a small script and style sheet, handed to
`gr.mount_gradio_app` by the factory.

The script makes the chat box send on Enter and break the line on Shift+Enter (gradio's
multi-line box does the opposite, and the placeholder promises Enter). It listens in the
capture phase, before gradio's own key handler, and only in `#chat-input`; an IME
composition's Enter is left alone.
"""

from __future__ import annotations

PAGE_JS = """
() => {
  const inChatBox = (event) =>
    event.key === "Enter" && !event.isComposing &&
    event.target instanceof HTMLTextAreaElement && event.target.closest("#chat-input");
  const onKey = (event) => {
    if (!inChatBox(event)) return;
    event.stopImmediatePropagation();  // gradio's handler: its Shift+Enter would send
    if (event.shiftKey) return;  // the browser's default: a new line
    event.preventDefault();
    if (event.type === "keydown") document.querySelector("#send")?.click();
  };
  window.addEventListener("keydown", onKey, true);
  window.addEventListener("keypress", onKey, true);
  // A phone: the chat's controls (conversations, persona, voice) fold under the chat once.
  if (window.matchMedia("(max-width: 700px)").matches) {
    const fold = setInterval(() => {
      const open = document.querySelector("#chat-controls > .label-wrap.open");
      if (open) { open.click(); clearInterval(fold); }
    }, 200);
    setTimeout(() => clearInterval(fold), 30000);
  }
  // The UI language on <html>, for the style sheet's translated toast titles.
  setInterval(() => {
    const lang = document.querySelector("#ui-language input:checked")?.value;
    if (lang && document.documentElement.dataset.uiLang !== lang) {
      document.documentElement.dataset.uiLang = lang;
      document.documentElement.lang = lang;
    }
  }, 300);
}
"""

# gradio titles its toasts with their English type ("Warning") whatever `title=` says; in
# Russian the style sheet writes the Russian word over it.
_TOAST_TITLES_RU = {"warning": "Внимание", "info": "Сообщение", "error": "Ошибка"}
_TOAST_CSS = "".join(
    f'html[data-ui-lang="ru"] .toast-title.{kind} {{ visibility: hidden; position: relative; }}\n'
    f'html[data-ui-lang="ru"] .toast-title.{kind}::before '
    f'{{ content: "{word}"; visibility: visible; position: absolute; left: 0; }}\n'
    for kind, word in _TOAST_TITLES_RU.items()
)

PAGE_CSS = (
    _TOAST_CSS
    + """
#queued-note { color: var(--body-text-color-subdued); font-style: italic; }
.soul-legend { display: flex; flex-wrap: wrap; gap: .25em 1em; padding: 0 .6em; font-size: .85em; }
.soul-legend .legend-item {
  display: inline-flex; align-items: center; gap: .35em; white-space: nowrap;
}
.soul-legend i { display: inline-block; width: .75em; height: .75em; border-radius: 50%; }
html:not([data-ui-lang="en"]) .soul-legend [lang="en"] { display: none; }
html[data-ui-lang="en"] .soul-legend [lang="ru"] { display: none; }
#app-title h2 { word-break: keep-all; overflow-wrap: normal; hyphens: none; }
#app-header .form { background: transparent; border-width: 0; box-shadow: none; }
@media (max-width: 700px) {
  /* A phone: the title on its own line, the chat first, its controls under it. */
  #app-header { flex-wrap: wrap; }
  #app-header > * { min-width: 100% !important; }
  #app-title h2 { font-size: 1.25rem; }
  #chat-layout { flex-direction: column-reverse; }
  #chat-layout > * { min-width: 100% !important; }
  #chat-buttons > button { min-width: 40% !important; }
  /* Tables scroll sideways instead of breaking their words letter by letter: gradio
     sizes the columns from the table's width, so the table is made wider than a phone. */
  .table-container { overflow-x: auto !important; }
  .table-container > .table-wrap { min-width: 900px; }
  /* The memory list's pager: narrower buttons, room for "shown 1-20 of 57" between. */
  #memory-prev, #memory-next { min-width: 84px !important; max-width: 96px; }
  #memory-page-info { min-width: 0 !important; text-align: center; }
}
"""
)
