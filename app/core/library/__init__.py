"""The model library: the curated catalog, the Hugging Face Hub, downloads, installed models."""

from __future__ import annotations

from app.core.library.catalog import (
    CATALOG_FILE,
    Catalog,
    CatalogModel,
    catalog_recommendation,
    choose_quant,
    load_catalog,
    refresh_catalog,
)
from app.core.library.downloads import (
    DownloadManager,
    DownloadProgress,
    DownloadState,
    DownloadTask,
    UnfinishedDownload,
)
from app.core.library.hub import (
    GatedRepoError,
    GGUFVariant,
    Hub,
    HubAuthError,
    HubError,
    HubUnavailableError,
    OfflineError,
    RemoteFileNotFoundError,
    RepoListing,
    RepoNotFoundError,
    check_repo_id,
    group_gguf_names,
)
from app.core.library.installed import ImportMode, InstalledModel, Library, reveal_command
from app.core.library.remote import (
    RemoteModelFile,
    RemoteModels,
    merge_split_headers,
    read_hub_models,
    read_listed_models,
)

__all__ = [
    "CATALOG_FILE",
    "Catalog",
    "CatalogModel",
    "DownloadManager",
    "DownloadProgress",
    "DownloadState",
    "DownloadTask",
    "GGUFVariant",
    "GatedRepoError",
    "Hub",
    "HubAuthError",
    "HubError",
    "HubUnavailableError",
    "ImportMode",
    "InstalledModel",
    "Library",
    "OfflineError",
    "RemoteFileNotFoundError",
    "RemoteModelFile",
    "RemoteModels",
    "RepoListing",
    "RepoNotFoundError",
    "UnfinishedDownload",
    "catalog_recommendation",
    "check_repo_id",
    "choose_quant",
    "group_gguf_names",
    "load_catalog",
    "merge_split_headers",
    "read_hub_models",
    "read_listed_models",
    "refresh_catalog",
    "reveal_command",
]
