"""Take the README's screenshots: the real window on a virtual X screen (Xvfb).

    .venv/bin/python docs/screenshots/take.py

Starts Xvfb, opens Hearth with a throw-away HEARTH_HOME holding one conversation,
loads stories260K, and saves the chat, the library and the settings as PNG files
next to this script. Needs Debian's ``xvfb`` (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DISPLAY = ":97"

REPLY = """<think>The user asks what quantization means; keep it short and give an example.</think>
**Quantization** stores a model's weights with fewer bits, so it needs less memory:

| file | bits per weight | size for 8B |
|---|---|---|
| Q8_0 | 8.5 | 8.5 GB |
| Q4_K_M | 4.8 | 4.9 GB |

Load one with Hearth's engine:

```python
engine.load("Llama-3.1-8B-Instruct-Q4_K_M.gguf")
```
"""


def main() -> int:
    sys.path.insert(0, str(ROOT))
    xvfb = subprocess.Popen(["Xvfb", DISPLAY, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        os.environ.update(DISPLAY=DISPLAY, QT_QPA_PLATFORM="xcb",
                          HEARTH_HOME=tempfile.mkdtemp(prefix="hearth-shots-"))
        return _shoot()
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


def _shoot() -> int:
    from PySide6.QtWidgets import QApplication

    from app.ui.application import Session
    from tests.support.gguf_factory import test_model_path

    app = QApplication(sys.argv[:1])
    session = Session()
    store = session.store
    chat = store.create_conversation(title="What is quantization?",
                                     system_prompt="You are a helpful assistant.")
    store.add_message(chat.id, role="user", text="What does Q4_K_M mean, in two lines?")
    store.add_message(chat.id, role="assistant", text=REPLY, model="Llama 3.1 8B Instruct",
                      quantization="Q4_K_M", backend="local")
    other = store.create_conversation(title="Packing list for the mountains")
    store.add_message(other.id, role="user", text="What should I pack for three days?")
    window = session.build_window()
    window.resize(1200, 760)
    window.show()
    window.open_conversation(chat.id)
    loaded: list[object] = []
    window.worker.loaded.connect(loaded.append)
    window.load_model(str(test_model_path()))
    _wait(app, lambda: bool(loaded))
    _settle(app)
    _grab(app, window, "chat.png")
    window.show_page("library")
    _wait(app, lambda: window.library_page.catalog_tree.topLevelItemCount() > 0)
    _settle(app)
    _grab(app, window, "library.png")
    window.show_page("settings")
    _settle(app)
    _grab(app, window, "settings.png")
    from app.ui.theme import apply_theme

    apply_theme("dark")
    window.show_page("chat")
    window.open_conversation(chat.id)  # re-render the messages with the dark palette
    _settle(app)
    _grab(app, window, "chat-dark.png")
    window.close()
    session.close()
    return 0


def _wait(app: object, done: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:  # type: ignore[operator]
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.02)


def _settle(app: object) -> None:
    _wait(app, lambda: False, timeout=0.6)


def _grab(app: object, window: object, name: str) -> None:
    screen = app.primaryScreen()  # type: ignore[attr-defined]
    screen.grabWindow(window.winId()).save(str(HERE / name))  # type: ignore[attr-defined]
    print(f"saved {HERE / name}")


if __name__ == "__main__":
    sys.exit(main())
