"""One running Hearth's shared parts, built once by a front-end and passed to what needs them.

The desktop app and ``hearth`` each make one :class:`AppContext` when they start: its
folders, the live settings (:class:`~app.core.settings.SettingsStore`), the key store,
the one Hub client, the catalog and the download manager. Nothing here copies a
setting or a secret when it is first used: the Hub asks the settings for the offline
flag and the key store for the token at every request, the models folder is read from
the settings each time it is needed, and the catalog is read again when a refresh has
been saved (by this process or by ``hearth models --catalog --refresh`` in another).
"""

from __future__ import annotations

import threading
from pathlib import Path

from app.core.advisor import Recommendation
from app.core.documents import embedding_memory_in_use
from app.core.inference import EngineProcess, LoadOptions
from app.core.library import (
    Catalog,
    DownloadManager,
    Hub,
    Library,
    catalog_recommendation,
    load_catalog,
    refresh_catalog,
)
from app.core.library.catalog import REFRESH_FILE_NAME, RefreshReport
from app.core.library.model_settings import MODEL_SETTINGS_FILE, ModelSettingsStore
from app.core.machine import CalibrationStore, HardwareProfile, calibration_key
from app.core.paths import AppPaths, app_paths
from app.core.secrets import KeyStore
from app.core.settings import Settings, SettingsStore

_Stamp = tuple[int, int, int] | None


class AppContext:
    """What every part of one running Hearth shares. See the module docstring.

    ``settings`` and ``keys`` are made on first use when not given, so a command that
    needs neither (``hearth info``) never reads the settings file nor asks the OS for
    its keychain, and a damaged settings file fails only what reads settings.
    """

    def __init__(
        self,
        *,
        paths: AppPaths | None = None,
        settings: SettingsStore | None = None,
        keys: KeyStore | None = None,
        catalog_file: str | Path | None = None,
        hub_endpoint: str | None = None,
    ) -> None:
        self.paths = paths if paths is not None else app_paths()
        self._settings = settings
        self._keys = keys
        self._catalog_file = catalog_file
        self._lock = threading.RLock()
        self._catalog: Catalog | None = None
        self._catalog_stamp: _Stamp = None
        self._downloads: DownloadManager | None = None
        self.hub = Hub(endpoint=hub_endpoint, offline=self._offline, token=self._hub_token)
        self.model_settings = ModelSettingsStore(self.paths.config / MODEL_SETTINGS_FILE)
        """Each model file's own settings (read from its file at every look-up)."""
        self.engine: EngineProcess | None = None
        """The one engine process of this run, shared by the chat, the server and documents
        (its turns queue in order); set by the front-end that starts it."""

    # -- settings and secrets -----------------------------------------------------------

    @property
    def settings(self) -> SettingsStore:
        """The live settings (opened from the settings file on first use)."""
        with self._lock:
            if self._settings is None:
                self._settings = SettingsStore.open(self.paths.settings_file)
            return self._settings

    @property
    def current(self) -> Settings:
        """The settings now: a shorthand for ``settings.current``."""
        return self.settings.current

    @property
    def keys(self) -> KeyStore:
        """The key store: the Claude key and the Hugging Face token."""
        with self._lock:
            if self._keys is None:
                self._keys = KeyStore()
            return self._keys

    def _offline(self) -> bool:
        return self.settings.current.offline

    def _hub_token(self) -> str | None:
        # Asked only for a request that is allowed to go out; offline, the keychain
        # is not even opened.
        if self._offline():
            return None
        return self.keys.hub_token.load()

    # -- models -------------------------------------------------------------------------

    @property
    def models_folder(self) -> Path:
        """Where models are kept, per the settings now."""
        return self.settings.current.models_folder()

    def load_options(self, model: str | Path) -> LoadOptions:
        """How to load the model file at ``model``: the settings now, with its own over them.

        A path that is no file has no settings of its own (loading it says what is wrong).
        """
        own = self.model_settings.get(model) if Path(model).is_file() else None
        return LoadOptions.from_settings(self.current, own)

    def settings_for(self, model: str | Path | None) -> Settings:
        """The settings now with the model file at ``model``'s own over them.

        None, or a path that is no file, has none of its own: the app's settings. Raises
        :class:`~app.core.library.ModelSettingsError` when the model's cannot be read.
        """
        if model is None or not Path(model).is_file():
            return self.current
        return self.model_settings.get(model).apply(self.current)

    def loaded_settings(self) -> Settings:
        """The settings for what the run's one engine has loaded now (:meth:`settings_for`).

        A server asks this at each request, so the model loaded then, and its settings
        as they are then, decide its sampling.
        """
        model = self.engine.model if self.engine is not None else None
        return self.settings_for(model.path if model is not None else None)

    def library(self) -> Library:
        """The installed models in the models folder of the settings now."""
        return Library(models_dir=self.models_folder)

    def downloads(self) -> DownloadManager:
        """The one download manager, for the models folder of the settings now.

        A new manager is made when the folder changed; downloads already running
        finish where they started.
        """
        folder = self.models_folder
        with self._lock:
            if self._downloads is None or self._downloads.models_dir != folder:
                self._downloads = DownloadManager(models_dir=folder, hub=self.hub)
            return self._downloads

    # -- the catalog ----------------------------------------------------------------------

    @property
    def catalog_refresh_file(self) -> Path:
        return self.paths.cache / REFRESH_FILE_NAME

    def catalog(self) -> Catalog:
        """The curated catalog with the saved refresh applied; read again once a newer
        refresh has been saved."""
        stamp = _stamp(self.catalog_refresh_file)
        with self._lock:
            if self._catalog is None or stamp != self._catalog_stamp:
                self._catalog = load_catalog(path=self._catalog_file, cache_dir=self.paths.cache)
                self._catalog_stamp = stamp
            return self._catalog

    def catalog_advice(self, profile: HardwareProfile) -> tuple[Catalog, dict[str, Recommendation]]:
        """The catalog and the advisor's verdict on each of its models on ``profile``.

        With the settings now (quantization, context), the speeds measured here (the
        first call probes the memory bandwidth, 0.2 s) and the RAM the documents'
        embedding model takes beside the chat model: the first run and the library
        show the same advice and the same pick. Reads no network; slow enough (a
        second) for a background thread.
        """
        settings = self.current
        catalog = self.catalog()
        speed = CalibrationStore().speed_calibration(calibration_key(profile))
        embedding = embedding_memory_in_use(settings)
        advice = {
            model.id: catalog_recommendation(
                model,
                profile,
                preference=settings.quantization,
                context_length=settings.context_length,
                speed=speed,
                embedding_bytes=embedding,
            )
            for model in catalog
        }
        return catalog, advice

    def refresh_catalog(self) -> RefreshReport:
        """Take exact sizes and hashes from the Hub, save them, and use them from now on."""
        report = refresh_catalog(self.catalog(), hub=self.hub, cache_dir=self.paths.cache)
        with self._lock:
            self._catalog = report.catalog
            self._catalog_stamp = _stamp(self.catalog_refresh_file)
        return report


def _stamp(path: Path) -> _Stamp:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size
