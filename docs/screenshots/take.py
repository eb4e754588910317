"""Take the README's screenshots: every page at 800×600 and 1400×900, light and dark.

    .venv/bin/python docs/screenshots/take.py            # all of them
    .venv/bin/python docs/screenshots/take.py --xvfb     # on a virtual X screen instead

Opens Hearth with a throw-away HEARTH_HOME holding two conversations, loads the real
stories260K model (../shared/models, or HEARTH_TEST_MODEL), and for each theme and
size: the first run (before any model), the chat while a reply is streaming, the
library, the settings. The window is
drawn by Qt's offscreen platform (``QWidget.grab``), so no display is needed; with
``--xvfb`` it runs under Xvfb and the xcb platform (Debian's ``xvfb``). PNGs are
written next to this script as ``{page}-{width}-{theme}.png``. Look at every one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DISPLAY = ":97"
SIZES = ((800, 600), (1400, 900))
THEMES = ("light", "dark")

REPLY = """<think>The user asks what quantization means; keep it short.</think>
**Quantization** stores a model's weights with fewer bits, so it needs less memory:

| file | bits per weight | size for 8B |
|---|---|---|
| Q8_0 | 8.5 | 8.5 GB |
| Q4_K_M | 4.8 | 4.9 GB |

Load one with Hearth's engine:

```python
engine = Engine()
engine.load("Llama-3.1-8B-Instruct-Q4_K_M.gguf")
```
"""


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    os.environ["HEARTH_HOME"] = tempfile.mkdtemp(prefix="hearth-shots-")
    if "--xvfb" not in argv:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return _shoot()
    xvfb = subprocess.Popen(
        ["Xvfb", DISPLAY, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        os.environ.update(DISPLAY=DISPLAY, QT_QPA_PLATFORM="xcb")
        return _shoot()
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


def _shoot() -> int:
    from PySide6.QtWidgets import QApplication

    from app.ui.application import Session
    from app.ui.main_window import PAGES
    from app.ui.theme import apply_theme
    from tests.support.gguf_factory import test_model_path

    app = QApplication(sys.argv[:1])
    session = Session()
    store = session.store
    chat = store.create_conversation(
        title="What is quantization?", system_prompt="You are a helpful assistant."
    )
    store.add_message(chat.id, role="user", text="What does Q4_K_M mean, in two lines?")
    store.add_message(
        chat.id,
        role="assistant",
        text=REPLY,
        model="Llama 3.1 8B Instruct",
        quantization="Q4_K_M",
        backend="local",
    )
    other = store.create_conversation(title="Packing list for three days in the mountains")
    store.add_message(other.id, role="user", text="What should I pack for three days?")
    apply_theme("light")
    window = session.build_window()
    window.settings = window.settings.with_value("max_tokens", 400)
    window.show()
    # The first run: no model yet, the chat leads to the one the advisor picks.
    for theme in THEMES:
        apply_theme(theme)
        for width, height in SIZES:
            _resize(app, window, width, height)
            # The advice is made in the background; then the button names the model.
            _wait(app, window.first_run.download_button.isEnabled)
            _settle(app)
            _grab(window, f"first-run-{width}-{theme}.png")
    apply_theme("light")
    window.load_model(str(test_model_path()))
    _wait(app, lambda: window.loaded is not None)
    for theme in THEMES:
        apply_theme(theme)
        for width, height in SIZES:
            _resize(app, window, width, height)
            _stream(app, window, chat.id, f"chat-{width}-{theme}.png")
            for page in PAGES[1:]:  # every other page, as the window lists them
                window.show_page(page)
                if page == "library":
                    _wait(app, lambda: window.library_page.catalog_tree.topLevelItemCount() > 0)
                _settle(app)
                _grab(window, f"{page}-{width}-{theme}.png")
            window.show_page("chat")
    _settle(app, 1.0)  # background reads still under way end before the window closes
    window.close()
    session.close()
    return 0


def _stream(app: object, window: object, chat_id: int, name: str) -> None:
    """The chat with a reply of the real model half written, then stopped."""
    window.open_conversation(chat_id)  # type: ignore[attr-defined]
    page = window.chat_page  # type: ignore[attr-defined]
    done: list[object] = []
    window.chat.reply_done.connect(done.append)  # type: ignore[attr-defined]
    page.composer.setPlainText("Tell me a story about a little dog, please.")
    page.send_button.click()
    _wait(app, lambda: _streamed(page) > 160)
    _settle(app, 0.1)
    _grab(window, name)
    window.chat.stop()  # type: ignore[attr-defined]
    _wait(app, lambda: bool(done))
    window.chat.reply_done.disconnect(done.append)  # type: ignore[attr-defined]
    _settle(app)


def _resize(app: object, window: object, width: int, height: int) -> None:
    for _ in range(3):  # the page buttons turn compact on the first resize, then it fits
        window.resize(width, height)  # type: ignore[attr-defined]
        _settle(app, 0.1)
    size = window.size()  # type: ignore[attr-defined]
    if (size.width(), size.height()) != (width, height):
        raise SystemExit(
            f"the window does not fit {width}×{height}: it is {size.width()}×{size.height()}"
        )


def _streamed(page: object) -> int:
    views = list(page.views.values())  # type: ignore[attr-defined]
    return len(views[-1].body.toPlainText()) if views and views[-1].role == "assistant" else 0


def _wait(app: object, done: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


def _settle(app: object, seconds: float = 0.6) -> None:
    _wait(app, lambda: False, timeout=seconds)


def _grab(window: object, name: str) -> None:
    path = HERE / name
    window.grab().save(str(path), "PNG", 0)  # type: ignore[attr-defined]
    print(f"saved {path} ({path.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
