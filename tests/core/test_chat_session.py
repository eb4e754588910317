"""The rules of a turn, in core: what the model sees, routing, regenerate, edit, storage."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import app.core.inference.process as process_module
from app.cli import main
from app.core.chat import ChatSession, HistoryStore, Route, model_messages
from app.core.chat.routing import Preview
from app.core.chat.session import CHARS_PER_TOKEN
from app.core.cloud.claude import ClaudeDisabledError
from app.core.documents import DocumentContext, Hit, build_context
from app.core.errors import HearthError, NoModelLoadedError
from app.core.generation import Message
from app.core.inference import EngineProcess, LoadOptions
from app.core.settings import Settings
from tests.support.conversations import EXPECTED, NEXT, store_mixed_conversation


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    with HistoryStore.open(tmp_path / "history.db") as store:
        yield store  # type: ignore[misc]


def greedy(settings: Settings | None = None) -> Settings:
    settings = settings or Settings()
    return settings.with_value("temperature", 0.0).with_value("max_tokens", 12)


class Prompts:
    def __init__(self, route: Route | None = Route.LOCAL, confirm: bool = True) -> None:
        self.route, self.confirm = route, confirm
        self.previews: list[Preview] = []
        self.asked = 0

    def choose_route(self) -> Route | None:
        self.asked += 1
        return self.route

    def confirm_preview(self, preview: Preview) -> bool:
        self.previews.append(preview)
        return self.confirm


def test_the_model_sees_the_system_prompt_and_what_was_said(store: HistoryStore) -> None:
    conversation_id = store_mixed_conversation(store)
    records = store.active_path(conversation_id)
    record = store.conversation(conversation_id)
    seen = model_messages(records, system_prompt=record.system_prompt)
    assert seen == EXPECTED[:-1]
    # Up to a message: the reply being replaced and what follows are left out.
    assert model_messages(records, until=records[1].id) == [EXPECTED[1]]
    assert model_messages(records, system_prompt="  \n")[0] == EXPECTED[1]


def test_without_a_model_nothing_is_stored_and_the_error_says_what_to_do(
    store: HistoryStore,
) -> None:
    session = ChatSession(store, settings=Settings)
    session.open(None)
    with pytest.raises(NoModelLoadedError) as caught:
        session.send("Hello?")
    assert "kept" in caught.value.describe()
    assert session.conversation is None and store.list_conversations() == []


def test_claude_asked_while_off_stores_nothing(store: HistoryStore) -> None:
    conversation_id = store_mixed_conversation(store)
    session = ChatSession(store, settings=Settings, claude_key=lambda: "sk-test")
    session.open(conversation_id)
    before = store.active_path(conversation_id)
    with pytest.raises(ClaudeDisabledError):
        session.send("Ask Claude this", ask_claude=True)
    assert store.active_path(conversation_id) == before


def test_a_declined_preview_stores_nothing_and_the_preview_is_what_would_leave(
    store: HistoryStore,
) -> None:
    conversation_id = store_mixed_conversation(store)
    settings = Settings().with_value("claude_enabled", True)
    prompts = Prompts(confirm=False)
    session = ChatSession(
        store, settings=lambda: settings, prompts=prompts, claude_key=lambda: "sk-test"
    )
    session.open(conversation_id)
    before = store.active_path(conversation_id)
    assert session.send(NEXT, ask_claude=True) is None
    assert store.active_path(conversation_id) == before and not session.busy
    (preview,) = prompts.previews
    assert preview.system == EXPECTED[0].content
    assert list(preview.messages)[-1] == Message("user", NEXT)
    assert all(m.content.strip() for m in preview.messages)  # no error or empty turn


def test_ask_each_time_asks_and_a_cancel_sends_nothing(store: HistoryStore) -> None:
    settings = Settings().with_value("claude_enabled", True).with_value("routing", "ask")
    prompts = Prompts(route=None)
    session = ChatSession(store, settings=lambda: settings, prompts=prompts)
    session.open(None)
    assert session.send("Where does this go?") is None
    assert prompts.asked == 1 and store.list_conversations() == []


def test_send_regenerate_and_edit_with_a_real_engine(
    store: HistoryStore, stories_model: Path
) -> None:
    settings = greedy()
    session = ChatSession(store, settings=lambda: settings)
    session.open(None)
    session.set_system_prompt("")
    engine = EngineProcess()
    try:
        session.model = engine.load(stories_model, LoadOptions(context_length=256))
        turn = session.send("Once upon a time")
        assert turn is not None and session.busy
        with pytest.raises(Exception, match="still being written"):
            session.send("Too soon")
        text = "".join(turn.run_local(engine))
        assert not session.busy
        conversation = session.conversation
        assert conversation is not None
        user, reply = conversation.messages
        assert reply.text == text and reply.status == "complete" and reply.completion_tokens
        assert reply.backend == "local" and reply.model == session.model.name

        again = session.regenerate()
        assert again is not None and again.messages == [Message("user", "Once upon a time")]
        "".join(again.run_local(engine))
        assert conversation.versions(conversation.messages[-1].id) == (2, 2)

        edited = session.edit(user.id, "A dragon lived")
        assert edited is not None
        assert edited.messages == [Message("user", "A dragon lived")]
        "".join(edited.run_local(engine))
        first, _ = conversation.messages
        assert first.text == "A dragon lived" and conversation.versions(first.id) == (2, 2)
        # The old branch, both replies included, is still there.
        session.switch_version(first.id, -1)
        old_user, old_reply = conversation.messages
        assert old_user.text == "Once upon a time" and conversation.versions(old_reply.id)[1] == 2
    finally:
        engine.close()


def test_a_reader_that_stops_early_keeps_the_text_marked_stopped(
    store: HistoryStore, stories_model: Path
) -> None:
    settings = greedy().with_value("max_tokens", 200)
    session = ChatSession(store, settings=lambda: settings)
    session.open(None)
    engine = EngineProcess()
    try:
        session.model = engine.load(stories_model, LoadOptions(context_length=512))
        turn = session.send("Once upon a time")
        assert turn is not None
        pieces = turn.run_local(engine)
        got = [next(pieces) for _ in range(3)]
        pieces.close()
        assert turn.record is not None and turn.record.status == "interrupted"
        assert turn.record.text.startswith("".join(got)) and turn.record.stop_reason == "user"
        assert not session.busy
    finally:
        engine.close()


def test_the_cli_continues_a_stored_conversation_with_the_same_messages(
    stories_model: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with HistoryStore.open() as store:  # the app's own history file in HEARTH_HOME
        conversation_id = store_mixed_conversation(store)
    seen: list[list[Message]] = []
    real_chat = process_module.EngineProcess.chat

    def spy(self: EngineProcess, messages: list[Message], *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        seen.append(list(messages))
        return real_chat(self, messages, *args, **kwargs)

    monkeypatch.setattr(process_module.EngineProcess, "chat", spy)
    status = main(
        [
            "chat",
            "--model",
            str(stories_model),
            "--continue",
            str(conversation_id),
            "--prompt",
            NEXT,
            "--max-tokens",
            "8",
            "--temperature",
            "0",
            "--quiet",
        ]
    )
    assert status == 0
    assert seen == [EXPECTED]
    printed = capsys.readouterr().out.strip()
    with HistoryStore.open() as store:
        *_, question, reply = store.active_path(conversation_id)
    assert question.text == NEXT and reply.status == "complete"
    assert reply.text.strip() == printed


def test_a_cli_chat_without_save_leaves_the_history_untouched(stories_model: Path) -> None:
    assert main(["chat", "--model", str(stories_model), "--prompt", "Hi", "--max-tokens", "4"]) == 0
    with HistoryStore.open() as store:
        assert store.list_conversations() == []
    assert (
        main(
            ["chat", "--model", str(stories_model), "--prompt", "Hi", "--max-tokens", "4", "--save"]
        )
        == 0
    )
    with HistoryStore.open() as store:
        (saved,) = store.list_conversations()
        assert [m.role for m in store.active_path(saved.id)] == ["user", "assistant"]


def test_streamed_pieces_may_be_saved_from_another_thread(
    store: HistoryStore, stories_model: Path
) -> None:
    settings = greedy().with_value("max_tokens", 30)
    session = ChatSession(store, settings=lambda: settings)
    session.open(None)
    engine = EngineProcess()
    events: list[tuple[str, str]] = []
    try:
        session.model = engine.load(stories_model, LoadOptions(context_length=256))
        turn = session.send("Once upon a time")
        assert turn is not None and session.conversation is not None
        session.conversation.subscribe(
            lambda e: events.append((e.kind, threading.current_thread().name))
        )
        reply = engine.chat(turn.messages, turn.sampling)
        worker = threading.Thread(target=lambda: [turn.append(p) for p in reply], name="streamer")
        worker.start()
        worker.join(60)
        assert reply.stats is not None
        turn.finish(reply.stats)
        assert {t for k, t in events if k == "streamed"} == {"streamer"}
        assert store.message(turn.message_id).text == reply.text
    finally:
        engine.close()


# -- local documents -------------------------------------------------------------------------


def _hit(number: int, text: str) -> Hit:
    return Hit(
        chunk_id=number,
        path=f"/docs/file{number}.md",
        text=text,
        page=None,
        first_line=number,
        last_line=number + 4,
        unit="lines",
        keyword_score=1.0,
        keyword_rank=number,
        vector_score=0.5,
        vector_rank=number,
        fused_score=2 / (60 + number),
    )


class Excerpts:
    """A retriever with fixed hits that records what it was asked."""

    def __init__(self, hits: list[Hit], *, fail: bool = False) -> None:
        self.hits, self.fail = hits, fail
        self.asked: list[tuple[str, int]] = []

    def context_for(self, question: str, *, budget_chars: int) -> DocumentContext:
        self.asked.append((question, budget_chars))
        if self.fail:
            raise HearthError("The documents index is damaged.")
        return build_context(self.hits, budget_chars=budget_chars)


def test_a_turn_with_documents_gives_the_model_the_excerpts_that_fit_and_names_the_rest(
    store: HistoryStore, stories_model: Path
) -> None:
    hits = [_hit(1, "The boiler is serviced in October."), _hit(2, "word " * 400)]
    retriever = Excerpts(hits)
    settings = greedy()
    session = ChatSession(store, settings=lambda: settings, retriever=retriever)
    session.open(None)
    session.set_system_prompt("Be brief.")
    engine = EngineProcess()
    try:
        session.model = engine.load(stories_model, LoadOptions(context_length=512))
        turn = session.send("When is the boiler serviced?")
        assert turn is not None and turn.documents is not None
        assert retriever.asked[0][0] == "When is the boiler serviced?"
        assert 0 < retriever.asked[0][1] <= 256 * CHARS_PER_TOKEN  # at most half the context
        system, user = turn.messages
        assert system.content.startswith("Be brief.\n\n")
        assert "[1] /docs/file1.md, lines 1–5\nThe boiler is serviced in October." in system.content
        assert "1 more matching excerpt was left out" in system.content
        assert "/docs/file2.md, lines 2–6" in system.content and "word word" not in system.content
        assert user == Message("user", "When is the boiler serviced?")
        assert turn.documents.sources() == ["[1] /docs/file1.md, lines 1–5"]
        assert [h.chunk_id for h in turn.documents.left_out] == [2]
        "".join(turn.run_local(engine))
        # The history keeps what the user wrote; the excerpts belong to that turn only.
        assert session.conversation is not None
        assert session.conversation.messages[0].text == "When is the boiler serviced?"
        assert session.conversation.record.system_prompt == "Be brief."
    finally:
        engine.close()


def test_a_failing_search_stores_nothing(store: HistoryStore, stories_model: Path) -> None:
    session = ChatSession(store, settings=greedy, retriever=Excerpts([], fail=True))
    session.open(None)
    engine = EngineProcess()
    try:
        session.model = engine.load(stories_model, LoadOptions(context_length=256))
        with pytest.raises(HearthError, match="damaged"):
            session.send("Anything?")
        assert store.list_conversations() == [] and not session.busy
    finally:
        engine.close()


def test_the_claude_preview_shows_the_excerpts_before_anything_is_sent(
    store: HistoryStore,
) -> None:
    settings = Settings().with_value("claude_enabled", True)
    prompts = Prompts(confirm=False)
    session = ChatSession(
        store,
        settings=lambda: settings,
        prompts=prompts,
        claude_key=lambda: "sk-test",
        retriever=Excerpts([_hit(1, "The contract ends in March.")]),
    )
    session.open(None)
    assert session.send("When does the contract end?", ask_claude=True) is None
    (preview,) = prompts.previews
    assert preview.system is not None
    assert "[1] /docs/file1.md, lines 1–5\nThe contract ends in March." in preview.system
    assert store.list_conversations() == []


def _loaded(name: str) -> object:
    """What a session reads of a loaded model (the engine is not needed to make a turn)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        path=Path(f"/models/{name}.gguf"),
        name=name,
        header=SimpleNamespace(quantization="Q4_K_M"),
        context_length=2048,
    )


def test_a_local_turn_uses_the_loaded_model_s_own_settings(store: HistoryStore) -> None:
    from app.core.library import ModelSettings

    own = {
        "/models/pirate.gguf": ModelSettings(
            values={"temperature": 0.1, "top_k": 3, "max_tokens": 7, "system_prompt": "Arr."}
        )
    }
    session = ChatSession(
        store,
        settings=Settings,
        model_settings=lambda path: own.get(str(path), ModelSettings()),
    )
    session.open(None)
    assert session.new_system_prompt == Settings().system_prompt
    session.model = _loaded("pirate")  # type: ignore[assignment]
    assert session.new_system_prompt == "Arr."  # a new chat takes the model's prompt
    turn = session.send("Hello")
    assert turn is not None
    assert (turn.sampling.temperature, turn.sampling.top_k, turn.sampling.max_tokens) == (
        0.1,
        3,
        7,
    )
    assert turn.messages[0] == Message("system", "Arr.")
    assert store.conversation(session.conversation.id).system_prompt == "Arr."  # type: ignore[union-attr]

    session.open(None)
    session.model = _loaded("plain")  # type: ignore[assignment]  # no settings of its own
    assert session.new_system_prompt == Settings().system_prompt
    assert session.local_settings() == Settings()


def test_a_system_prompt_the_user_wrote_is_kept_when_the_model_changes(
    store: HistoryStore,
) -> None:
    from app.core.library import ModelSettings

    session = ChatSession(
        store,
        settings=Settings,
        model_settings=lambda _path: ModelSettings(values={"system_prompt": "Arr."}),
    )
    session.open(None)
    session.set_system_prompt("Answer in French.")
    session.model = _loaded("pirate")  # type: ignore[assignment]
    assert session.new_system_prompt == "Answer in French."


def test_unreadable_model_settings_store_nothing_and_say_why(store: HistoryStore) -> None:
    from app.core.library import ModelSettingsError

    def damaged(_path: Path) -> object:
        raise ModelSettingsError("The model settings file x is damaged: bad.")

    session = ChatSession(store, settings=Settings, model_settings=damaged)  # type: ignore[arg-type]
    session.open(None)
    session.model = _loaded("pirate")  # type: ignore[assignment]
    assert session.new_system_prompt == Settings().system_prompt
    with pytest.raises(ModelSettingsError, match="damaged"):
        session.send("Hello")
    assert store.list_conversations() == []


def test_excerpts_never_go_to_claude_unless_the_user_opted_in(store: HistoryStore) -> None:
    retriever = Excerpts([_hit(1, "The contract ends in March.")])
    prompts = Prompts(confirm=True)
    off = Settings()  # Claude not turned on
    session = ChatSession(
        store,
        settings=lambda: off,
        prompts=prompts,
        claude_key=lambda: "sk-test",
        retriever=retriever,
    )
    session.open(None)
    with pytest.raises(ClaudeDisabledError):
        session.send("When does the contract end?", ask_claude=True)
    assert retriever.asked == [] and prompts.previews == []  # nothing searched for Claude
    assert store.list_conversations() == []


def test_a_chat_keeps_its_collections_and_a_new_one_gets_the_default(
    tmp_path: Path,
) -> None:
    settings = Settings().with_value("docs_collections", "home, work,home")
    path = tmp_path / "options.sqlite3"
    with HistoryStore.open(path) as store:
        session = ChatSession(store, settings=lambda: settings)
        session.open(None)
        assert session.attached_collections() == ["home", "work"]  # from settings
        session.attach_collections(["work"])
        assert session.conversation is not None
        chat = session.conversation.id
        session.attach_collections([])  # none: this chat answers from no documents
        assert session.attached_collections() == []
        session.attach_collections(["taxes", "taxes"])
    with HistoryStore.open(path) as reopened:
        session = ChatSession(reopened, settings=lambda: settings)
        session.open(chat)
        assert session.attached_collections() == ["taxes"]
        session.open(None)
        assert session.attached_collections() == ["home", "work"]


def test_a_reply_keeps_its_sources_with_their_scores_after_reopening(
    tmp_path: Path, stories_model: Path
) -> None:
    hits = [_hit(1, "The boiler is serviced in October."), _hit(2, "word " * 400)]
    path = tmp_path / "kept.sqlite3"
    with HistoryStore.open(path) as store:
        session = ChatSession(store, settings=greedy, retriever=Excerpts(hits))
        session.open(None)
        engine = EngineProcess()
        try:
            session.model = engine.load(stories_model, LoadOptions(context_length=512))
            turn = session.send("When is the boiler serviced?")
            assert turn is not None
            "".join(turn.run_local(engine))
        finally:
            engine.close()
        assert [s.label() for s in turn.sources] == [
            "[1] file1.md, lines 1–5",
            "[left out] file2.md, lines 2–6",
        ]
        reply_id = turn.message_id
    with HistoryStore.open(path) as reopened:
        reply = reopened.message(reply_id)
        assert reply.role == "assistant" and reply.status == "complete"
        first, second = reply.sources
        assert (first.number, first.path, first.where) == (1, "/docs/file1.md", "lines 1–5")
        assert first.text == "The boiler is serviced in October."
        assert (first.keyword_score, first.vector_score) == (1.0, 0.5)
        assert first.fused_score == pytest.approx(2 / 61)
        assert second.number is None and not second.used  # retrieved, but it did not fit
        question = reopened.message(reply.parent_id or 0)
        assert question.sources == ()  # only replies have sources


def test_a_reply_without_documents_has_no_sources(store: HistoryStore, stories_model: Path) -> None:
    session = ChatSession(store, settings=greedy, retriever=Excerpts([]))
    session.open(None)
    engine = EngineProcess()
    try:
        session.model = engine.load(stories_model, LoadOptions(context_length=256))
        turn = session.send("Anything?")
        assert turn is not None
        "".join(turn.run_local(engine))
    finally:
        engine.close()
    assert turn.sources == () and store.message(turn.message_id).sources == ()


def test_a_reply_s_sources_survive_the_archive_export_and_import(
    tmp_path: Path, store: HistoryStore
) -> None:
    from app.core.chat import export_archive, import_archive
    from app.core.chat.sources import sources_of

    chat = store.create_conversation(title="boiler")
    store.add_message(chat.id, role="user", text="When is the boiler serviced?")
    reply = store.add_message(chat.id, role="assistant", text="In October [1].")
    hits = [_hit(1, "The boiler is serviced in October.")]
    store.set_sources(reply.id, sources_of(build_context(hits, budget_chars=2000)))
    archive = tmp_path / "all.zip"
    export_archive(store, archive)
    with HistoryStore.open(tmp_path / "other.sqlite3") as other:
        (added,) = import_archive(other, archive).added
        copied = other.active_path(added)[-1]
        assert copied.sources == store.message(reply.id).sources
        assert copied.sources[0].label() == "[1] file1.md, lines 1–5"
