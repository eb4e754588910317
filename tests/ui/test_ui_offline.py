"""The desktop app follows offline mode, the token and the catalog refresh at once.

The loopback stand-ins for Hugging Face and Claude run and are configured, a key and a
token are in a private keychain, and a socket guard records every connection attempt
(loopback included): with offline mode on, the library page (search, a Hub repository's
files and verdicts, downloads), the Claude key test and Claude itself reach nothing and
say why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidgetItem

from app.cli import main
from app.core.errors import HearthError
from app.core.library import DownloadState, RepoListing, load_catalog
from app.core.machine import format_bytes
from app.core.paths import app_paths
from app.core.secrets import KeyStore
from app.core.settings import Settings, save_settings
from app.ui.application import Session
from app.ui.library_page import HUB_ACTIONS, LibraryPage
from app.ui.main_window import MainWindow
from tests.support.claude_server import TEST_KEY, ClaudeServer, claude_server
from tests.support.gguf_factory import test_model_path as stories_path
from tests.support.gguf_factory import write_llama_gguf
from tests.support.hf_server import FakeHub
from tests.support.keychain import Keychain, keychain
from tests.support.socket_guard import SocketGuard, install

__all__ = ["claude_server", "keychain"]

pytestmark = pytest.mark.usefixtures("qapp")

CATALOG_ID = "llama-3.2-1b-instruct"
HUB_TOKEN = "hf_" + "WindowToken" * 3
NEEDS_NETWORK = "needs the network, and Hearth is in offline mode"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with FakeHub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        yield hub


@pytest.fixture
def session(
    keychain: Keychain, claude_server: ClaudeServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude_server.base_url)
    session = Session()
    yield session
    session.close()


def open_window(session: Session, qtbot) -> MainWindow:  # type: ignore[no-untyped-def]
    window = session.build_window()
    window.show()
    qtbot.waitExposed(window)
    return window


class Failures:
    """The errors the window shows, in order."""

    def __init__(self, window: MainWindow) -> None:
        self.seen: list[HearthError] = []
        window.library_page.failed.connect(self.seen.append)
        window.claude_key.failed.connect(self.seen.append)
        window.chat.failed.connect(self.seen.append)

    def texts(self) -> list[str]:
        return [error.describe() for error in self.seen]


def search(page: LibraryPage, qtbot, text: str, count: int) -> list[QTreeWidgetItem]:  # type: ignore[no-untyped-def]
    shown = page._hub_results
    page.search_box.setText(text)
    page.search_hub()
    qtbot.waitUntil(lambda: page._hub_results > shown, timeout=30_000)
    assert page.hub_tree.topLevelItemCount() == count
    return [page.hub_tree.topLevelItem(i) for i in range(count)]


def expand(item: QTreeWidgetItem, qtbot, files: int) -> list[QTreeWidgetItem]:  # type: ignore[no-untyped-def]
    item.setExpanded(True)
    qtbot.waitUntil(lambda: item.childCount() >= files, timeout=30_000)
    return [item.child(i) for i in range(files)]


def hub_repo_item(page: LibraryPage, repo: str) -> QTreeWidgetItem:
    item = QTreeWidgetItem([repo, "", "", ""])
    item.setData(0, Qt.ItemDataRole.UserRole, repo)
    page.hub_tree.addTopLevelItem(item)
    return item


def test_offline_the_window_reaches_nothing_and_says_why(
    fake: FakeHub,
    keychain: Keychain,
    claude_server: ClaudeServer,
    monkeypatch: pytest.MonkeyPatch,
    qtbot,  # type: ignore[no-untyped-def]
) -> None:
    stories = stories_path().read_bytes()
    model = load_catalog().get(CATALOG_ID)
    fake.add_repo(model.repo, {model.file("Q4_K_M").filename: stories})
    fake.add_repo("someone/Stories-GGUF", {"stories-F32.gguf": stories})
    keys = KeyStore()
    keys.claude.save(TEST_KEY)
    keys.hub_token.save(HUB_TOKEN)
    save_settings(Settings(claude_enabled=True, offline=True), app_paths().settings_file)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude_server.base_url)
    guard: SocketGuard = install(monkeypatch)
    session = Session()
    try:
        window = open_window(session, qtbot)
        failures = Failures(window)
        page = window.library_page
        window.show_page("library")
        qtbot.waitUntil(lambda: page.catalog_tree.topLevelItemCount() > 0, timeout=30_000)

        page.search_box.setText("stories")  # search the Hub
        page.search_hub()
        qtbot.waitUntil(lambda: len(failures.seen) == 1, timeout=10_000)
        assert f"Searching Hugging Face {NEEDS_NETWORK}" in failures.texts()[0]
        assert page.search_button.isEnabled()

        item = hub_repo_item(page, "someone/Stories-GGUF")  # a Hub repository's files
        page._list_repo(item)
        qtbot.waitUntil(lambda: len(failures.seen) == 2, timeout=10_000)
        assert f"Listing the files of someone/Stories-GGUF {NEEDS_NETWORK}" in failures.texts()[1]
        listing = RepoListing("someone/Stories-GGUF", commit=None, gated=False, variants=())
        page._advise_repo(listing, item, {})  # and their verdicts
        qtbot.waitUntil(lambda: len(failures.seen) == 3, timeout=10_000)
        assert "Reading the models of someone/Stories-GGUF" in failures.texts()[2]

        top = next(
            page.catalog_tree.topLevelItem(i)
            for i in range(page.catalog_tree.topLevelItemCount())
            if page.catalog_tree.topLevelItem(i).text(0).startswith(model.name)
        )
        page.catalog_tree.itemWidget(top.child(0), 5).click()  # Download a catalog model
        qtbot.waitUntil(lambda: len(failures.seen) == 4, timeout=10_000)
        assert NEEDS_NETWORK in failures.texts()[3]
        assert "Downloading" in window.notification.text()

        window.claude_key.test_claude_key()  # Settings: Test key
        qtbot.waitUntil(lambda: len(failures.seen) == 5, timeout=10_000)
        assert "Hearth is offline, so nothing is sent to Claude." in failures.texts()[4]

        window.chat.send("Hello", ask_claude=True)  # Claude
        assert len(failures.seen) == 6 and "offline" in failures.texts()[5].lower()
        assert not window.chat_page.ask_claude_button.isVisibleTo(window)

        assert guard.network == []
        assert fake.requests == [] and claude_server.requests == []
        assert not list(app_paths().models.rglob("*.gguf*"))
        window.close()
    finally:
        session.close()


def test_offline_turned_on_after_a_download_stops_the_next_and_pauses_the_running(
    fake: FakeHub,
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    qtbot,  # type: ignore[no-untyped-def]
) -> None:
    files = {
        "Tiny-Q8_0.gguf": write_llama_gguf(tmp_path / "a.gguf", seed=1).read_bytes(),
        "Tiny-Q4_K_M.gguf": write_llama_gguf(tmp_path / "b.gguf", seed=2).read_bytes(),
        "Tiny-Q6_K.gguf": write_llama_gguf(tmp_path / "c.gguf", seed=3).read_bytes() * 4,
    }
    fake.add_repo("o/Tiny-GGUF", files)
    window = open_window(session, qtbot)
    failures = Failures(window)
    page = window.library_page
    window.show_page("library")
    [repo] = search(page, qtbot, "tiny", 1)
    rows = {row.text(0).split(" ")[0]: row for row in expand(repo, qtbot, 3)}
    page.hub_tree.itemWidget(rows["Tiny-Q8_0"], HUB_ACTIONS).click()
    qtbot.waitUntil(lambda: page.installed_count == 1, timeout=60_000)

    fake.faults.throttle_bps = 64 * 1024  # slow enough to be caught running
    page.hub_tree.itemWidget(rows["Tiny-Q6_K"], HUB_ACTIONS).click()
    qtbot.waitUntil(lambda: any(t.variant.name == "Tiny-Q6_K" for t in page._rows), timeout=10_000)
    [running] = [t for t in page._rows if t.variant.name == "Tiny-Q6_K"]
    qtbot.waitUntil(lambda: running.progress().done_bytes > 0, timeout=30_000)

    window.show_page("settings")  # the user turns offline mode on
    window.settings_page.editors["offline"].setChecked(True)
    assert window.settings_page.apply()
    assert window.context.current.offline
    qtbot.waitUntil(lambda: running.state is DownloadState.PAUSED, timeout=10_000)
    kept = running.progress().done_bytes
    assert 0 < kept < len(files["Tiny-Q6_K.gguf"])

    fake.reset_counts()
    window.show_page("library")
    page.hub_tree.itemWidget(rows["Tiny-Q4_K_M"], HUB_ACTIONS).click()  # the next one
    qtbot.waitUntil(lambda: bool(failures.seen), timeout=10_000)
    assert NEEDS_NETWORK in failures.texts()[-1]
    assert fake.requests == []
    assert not list(page.manager().models_dir.rglob("Tiny-Q4_K_M*"))
    window.close()


def test_the_app_shows_the_catalog_that_the_cli_refresh_saved(
    fake: FakeHub,
    session: Session,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    qtbot,  # type: ignore[no-untyped-def]
) -> None:
    model = load_catalog().get(CATALOG_ID)
    data = write_llama_gguf(tmp_path / "m.gguf").read_bytes()
    fake.add_repo(model.repo, {model.file("Q4_K_M").filename: data})
    window = open_window(session, qtbot)
    page = window.library_page

    def q4_size() -> str:
        for i in range(page.catalog_tree.topLevelItemCount()):
            top = page.catalog_tree.topLevelItem(i)
            if top.text(0).startswith(model.name):
                rows = [top.child(j) for j in range(top.childCount())]
                return next(r.text(1) for r in rows if r.text(0).startswith("Q4_K_M"))
        return ""

    window.show_page("library")
    qtbot.waitUntil(lambda: q4_size() != "", timeout=30_000)
    assert q4_size() == format_bytes(model.file("Q4_K_M").size)  # the published figure
    assert main(["models", "--catalog", "--refresh"]) == 0  # in a terminal, meanwhile
    capsys.readouterr()
    window.show_page("chat")
    window.show_page("library")
    qtbot.waitUntil(lambda: q4_size() == format_bytes(len(data)), timeout=30_000)
    window.close()


def test_the_stored_token_reaches_the_hub_for_verdicts_and_a_401_is_refused_access(
    fake: FakeHub,
    session: Session,
    qtbot,  # type: ignore[no-untyped-def]
) -> None:
    fake.add_repo(
        "meta/Gated-GGUF", {"g-F32.gguf": stories_path().read_bytes()}, gated=True, token=HUB_TOKEN
    )
    window = open_window(session, qtbot)
    failures = Failures(window)
    page = window.library_page
    window.show_page("library")
    [repo] = search(page, qtbot, "gated", 1)
    [row] = expand(repo, qtbot, 1)
    qtbot.waitUntil(lambda: len(failures.seen) == 1, timeout=30_000)
    assert "meta/Gated-GGUF is gated" in failures.texts()[0]
    assert "not found" not in failures.texts()[0].lower()

    KeyStore().hub_token.save(HUB_TOKEN)  # `hearth token set`, while the app runs
    fake.auth_seen.clear()
    fake.requests.clear()
    [repo] = search(page, qtbot, "gated", 1)
    [row] = expand(repo, qtbot, 1)
    qtbot.waitUntil(lambda: row.text(2) not in ("…", ""), timeout=30_000)
    assert row.text(2) in ("GPU", "CPU")
    reads = [
        a for (_, path), a in zip(fake.requests, fake.auth_seen, strict=True) if "/resolve/" in path
    ]
    assert reads and set(reads) == {f"Bearer {HUB_TOKEN}"}

    fake.faults.status["g-F32.gguf"] = 401  # the Hub stops accepting the token
    [repo] = search(page, qtbot, "gated", 1)
    expand(repo, qtbot, 1)
    qtbot.waitUntil(lambda: len(failures.seen) == 2, timeout=30_000)
    said = failures.texts()[1]
    assert "refused access to meta/Gated-GGUF/g-F32.gguf (HTTP 401)" in said
    assert "hearth token set" in said and "does not exist" not in said
    window.close()


def test_offline_set_from_a_terminal_takes_effect_in_the_running_app(
    fake: FakeHub,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    qtbot,  # type: ignore[no-untyped-def]
) -> None:
    fake.add_repo("someone/Stories-GGUF", {"stories-F32.gguf": stories_path().read_bytes()})
    window = open_window(session, qtbot)
    failures = Failures(window)
    assert not window.settings_page.editors["offline"].isChecked()
    assert main(["config", "set", "offline", "true"]) == 0
    capsys.readouterr()
    qtbot.waitUntil(lambda: window.context.current.offline, timeout=10_000)
    assert window.settings_page.editors["offline"].isChecked()
    guard = install(monkeypatch)
    page = window.library_page
    page.search_box.setText("stories")
    page.search_hub()
    qtbot.waitUntil(lambda: len(failures.seen) == 1, timeout=10_000)
    assert NEEDS_NETWORK in failures.texts()[0]
    assert guard.network == [] and fake.requests == []
    window.close()
