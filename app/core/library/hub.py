"""Hugging Face Hub: search GGUF repositories, list their files, read and fetch them.

Everything here goes through the real ``huggingface_hub`` client (``HfApi`` and its
HTTP session), pointed at ``endpoint`` (default: ``HF_ENDPOINT`` or huggingface.co).
Its exceptions become Hearth's typed errors below, each with a hint; callers never
see an ``httpx`` or ``huggingface_hub`` exception.

File names from a listing are not trusted: :func:`check_repo_path` refuses absolute
paths, ``..``, backslashes and drive letters before a name can become a local path.

With offline mode on a :class:`Hub` makes no network call at all: every method
raises :class:`OfflineError` naming the action that needs the network. Errors are
typed so callers branch on the type: offline, not found (repository or file), refused
credentials (:class:`HubAuthError`, of which :class:`GatedRepoError`), and the network
or the server failing (:class:`HubUnavailableError`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from app.core.errors import AuthError, HearthError, NetworkError, NotFoundError, OfflineModeError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 20.0

# ------------------------------------------------------------------------------------
# Errors


class HubError(HearthError):
    """Something about the Hugging Face Hub went wrong."""

    hint = "Check your internet connection and try again."


class OfflineError(HubError, OfflineModeError):
    hint = "Turn offline mode off (`hearth config set offline false`, or in Settings) to use it."


class RepoNotFoundError(HubError, NotFoundError):
    hint = (
        "Check the name (owner/name) on huggingface.co. A private repository also needs "
        "a Hugging Face token that can read it."
    )


class HubAuthError(HubError, AuthError):
    """Hugging Face refused the request's credentials (no token, a wrong one, too few rights)."""

    hint = (
        "Give Hearth a Hugging Face token that can read it (`hearth token set`; read "
        "access is enough), or check the one stored."
    )


class GatedRepoError(HubAuthError):
    hint = (
        "Open the model's page on huggingface.co, accept its licence, then give Hearth "
        "a Hugging Face token (stored in your system keychain)."
    )


class RemoteFileNotFoundError(HubError, NotFoundError):
    hint = "List the repository's files with `hearth pull REPO --list`, then pick one."


class RangeNotSatisfiableError(HubError):
    """The server has no bytes at the offset asked for (HTTP 416)."""


class HubUnavailableError(HubError, NetworkError):
    hint = "Check your internet connection; if it works, Hugging Face may be down. Try later."


class UnsafeFileNameError(HubError):
    hint = "The repository lists a file name that could write outside Hearth's models folder."


# ------------------------------------------------------------------------------------
# File names

_QUANT = re.compile(
    r"(?<![A-Za-z0-9])("
    r"IQ[1-4]_(?:XXS|XS|S|M|NL)|"
    r"Q[2-8]_K(?:_XL|_[SML])?|"
    r"Q[4-8]_[01](?:_\d_\d)?|"
    r"TQ[12]_0|MXFP4|BF16|F16|F32|FP16|FP32"
    r")(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_SPLIT = re.compile(r"^(?P<base>.+)-(?P<index>\d{5})-of-(?P<total>\d{5})\.gguf$", re.IGNORECASE)
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


def parse_quant(filename: str) -> str | None:
    """The quantization named in a GGUF file name (``Q4_K_M``, ``IQ4_XS``, ``F16``), if any."""
    stem = PurePosixPath(filename).name
    split = _SPLIT.match(stem)
    stem = split.group("base") if split else stem.removesuffix(".gguf").removesuffix(".GGUF")
    found = _QUANT.findall(stem)
    if not found:
        return None
    quant = found[-1].upper()
    return {"FP16": "F16", "FP32": "F32"}.get(quant, quant)


def split_part(filename: str) -> tuple[str, int, int] | None:
    """``(base, index, total)`` for a split GGUF shard (``x-00001-of-00003.gguf``), else None."""
    match = _SPLIT.match(filename)
    if match is None:
        return None
    return match.group("base"), int(match.group("index")), int(match.group("total"))


def check_repo_id(repo_id: str) -> str:
    """``repo_id`` if it is a well-formed ``owner/name``; else :class:`RepoNotFoundError`."""
    if not _REPO_ID.match(repo_id) or ".." in repo_id:
        raise RepoNotFoundError(
            f"{repo_id!r} is not a Hugging Face repository name.",
            hint="A repository is named owner/name, e.g. bartowski/Llama-3.2-1B-Instruct-GGUF.",
        )
    return repo_id


def check_repo_path(name: str) -> PurePosixPath:
    """A repository file name as a safe relative path, or :class:`UnsafeFileNameError`.

    Refuses empty names, absolute paths, ``.``/``..`` parts, backslashes, drive letters
    and control characters, so the name cannot reach outside the folder it is joined to.
    """
    bad = (
        not name
        or name.startswith(("/", "\\"))
        or "\\" in name
        or re.match(r"^[A-Za-z]:", name) is not None
        or any(ord(ch) < 32 or ch == "\x7f" for ch in name)
    )
    parts = name.split("/")
    if bad or any(part in ("", ".", "..") for part in parts) or ":" in name:
        raise UnsafeFileNameError(f"Refusing the file name {name!r} from the repository.")
    return PurePosixPath(*parts)


# ------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class RepoSummary:
    """One search result."""

    repo_id: str
    downloads: int
    likes: int
    gated: bool
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class HubFile:
    """One file of a repository, as the Hub lists it."""

    path: str
    size: int
    sha256: str | None


@dataclass(frozen=True, slots=True)
class GGUFVariant:
    """One downloadable model: a single ``.gguf`` file or every shard of a split one."""

    name: str
    quant: str | None
    files: tuple[HubFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def is_split(self) -> bool:
        return len(self.files) > 1


@dataclass(frozen=True, slots=True)
class RepoListing:
    """A repository's GGUF models, and the names Hearth refused or could not group."""

    repo_id: str
    commit: str | None
    gated: bool
    variants: tuple[GGUFVariant, ...]
    rejected: tuple[str, ...] = ()
    incomplete: tuple[str, ...] = field(default=())

    def find(self, *, quant: str | None = None, filename: str | None = None) -> GGUFVariant:
        """The variant with this quantization or containing this file name."""
        for variant in self.variants:
            if filename is not None and any(f.path == filename for f in variant.files):
                return variant
            if filename is None and quant is not None and variant.quant == quant.upper():
                return variant
        offered = ", ".join(v.quant or v.name for v in self.variants) or "none"
        wanted = f"file named {filename}" if filename else f"{quant} file"
        raise RemoteFileNotFoundError(
            f"{self.repo_id} has no {wanted}. GGUF files offered: {offered}.",
            hint="Pick one of the files listed, e.g. `hearth pull REPO --quant Q4_K_M`.",
        )


def group_gguf_names(names: Iterable[str]) -> tuple[list[tuple[str, tuple[str, ...]]], list[str]]:
    """Group ``.gguf`` file names (repository paths or local ones) into models.

    Returns ``(name, parts)`` for each model, ``name`` being the file's stem (a split
    model's without ``-00001-of-00003``) and ``parts`` its files in order (one for a
    single file); and the names of split models missing a shard. Other files are
    ignored.
    """
    models: list[tuple[str, tuple[str, ...]]] = []
    shards: dict[tuple[str, int], dict[int, str]] = {}
    for path in names:
        if not path.lower().endswith(".gguf"):
            continue
        part = split_part(path)
        if part is None:
            models.append((PurePosixPath(path).name[: -len(".gguf")], (path,)))
        else:
            base, index, total = part
            shards.setdefault((base, total), {})[index] = path
    incomplete: list[str] = []
    for (base, total), parts in shards.items():
        name = PurePosixPath(base).name
        if sorted(parts) != list(range(1, total + 1)):
            incomplete.append(name)
            continue
        models.append((name, tuple(parts[i] for i in range(1, total + 1))))
    return models, incomplete


def group_gguf_files(files: list[HubFile]) -> tuple[list[GGUFVariant], list[str]]:
    """Group ``.gguf`` files into variants (split shards together), smallest first; also
    the names of split models missing a shard."""
    by_path = {item.path: item for item in files}
    models, incomplete = group_gguf_names(by_path)
    variants = [
        GGUFVariant(name, parse_quant(parts[0]), tuple(by_path[p] for p in parts))
        for name, parts in models
    ]
    variants.sort(key=lambda v: (v.size, v.name))
    return variants, incomplete


# ------------------------------------------------------------------------------------
# The client


class Hub:
    """The Hugging Face Hub, through ``huggingface_hub``: every request Hearth makes to it.

    ``token`` is sent with every request when there is one; ``offline`` forbids every
    network call. Each may be a value or a function asked at every request (what a
    running Hearth passes: the settings' offline flag and the key store's
    ``hub_token``), so a Hub kept by a long-lived part never goes online after the
    user said no, and always sends the token stored last.
    """

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        token: str | Callable[[], str | None] | None = None,
        offline: bool | Callable[[], bool] = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._offline = offline if callable(offline) else _constant(bool(offline))
        self._token = token if callable(token) else _constant(token)
        self.timeout_s = timeout_s
        self._endpoint = endpoint.rstrip("/") if endpoint else None

    @property
    def offline(self) -> bool:
        """Whether offline mode is on, now."""
        return bool(self._offline())

    @property
    def token(self) -> str | None:
        """The token to send, now (None: none is stored)."""
        return self._token() or None

    @property
    def endpoint(self) -> str:
        if self._endpoint is not None:
            return self._endpoint
        # Read at call time (huggingface_hub reads HF_ENDPOINT once, at import).
        from_env = os.environ.get("HF_ENDPOINT", "").strip()
        if from_env:
            return from_env.rstrip("/")
        from huggingface_hub import constants

        return str(constants.ENDPOINT)

    def require_online(self, action: str) -> None:
        """Raise :class:`OfflineError` naming ``action`` when in offline mode."""
        if self.offline:
            raise OfflineError(f"{action} needs the network, and Hearth is in offline mode.")

    def _api(self) -> Any:
        _quiet_library()
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.endpoint, token=self.token or False)

    def search(self, text: str, *, limit: int = 20) -> list[RepoSummary]:
        """GGUF repositories whose name matches ``text``, most downloaded first.

        One request to ``/api/models`` (what ``HfApi.list_models`` sends), made through
        the library's session but without its retry loop, which waits some 23 s
        before it reports that the Hub cannot be reached.
        """
        from huggingface_hub.hf_api import ModelInfo
        from huggingface_hub.utils import get_session, hf_raise_for_status

        self.require_online("Searching Hugging Face")
        params: dict[str, str | int] = {
            "search": text,
            "filter": "gguf",
            "sort": "downloads",
            "direction": -1,
            "limit": limit,
        }
        with translate_errors("Searching Hugging Face"):
            response = get_session().get(
                f"{self.endpoint}/api/models",
                params=params,
                headers=self.headers(),
                timeout=self.timeout_s,
            )
            hf_raise_for_status(response)
            items = response.json()
        if not isinstance(items, list):
            raise HubUnavailableError("Searching Hugging Face failed: the answer was not a list.")
        try:
            models = [ModelInfo(**item) for item in items[:limit]]
        except (KeyError, TypeError, ValueError) as error:
            raise HubUnavailableError(
                f"Searching Hugging Face failed: an answer was malformed ({error!r})."
            ) from None
        return [
            RepoSummary(
                repo_id=str(m.id),
                downloads=int(m.downloads or 0),
                likes=int(m.likes or 0),
                gated=bool(m.gated),
                last_modified=m.last_modified.isoformat() if m.last_modified else None,
            )
            for m in models
        ]

    def list_gguf(self, repo_id: str, *, revision: str | None = None) -> RepoListing:
        """The GGUF models in ``repo_id`` with sizes, SHA-256 and quantizations.

        Unsafe names are left out and reported in ``rejected``.
        """
        check_repo_id(repo_id)
        self.require_online(f"Listing the files of {repo_id}")
        with translate_errors(f"Listing the files of {repo_id}", repo_id=repo_id):
            info = self._api().model_info(
                repo_id, revision=revision, files_metadata=True, timeout=self.timeout_s
            )
        files: list[HubFile] = []
        rejected: list[str] = []
        for sibling in info.siblings or []:
            name = str(sibling.rfilename)
            try:
                check_repo_path(name)
            except UnsafeFileNameError:
                rejected.append(name)
                continue
            lfs = sibling.lfs
            sha = str(lfs.sha256) if lfs is not None else None
            size = int(sibling.size if sibling.size is not None else (lfs.size if lfs else 0))
            files.append(HubFile(path=name, size=size, sha256=sha))
        variants, incomplete = group_gguf_files(files)
        return RepoListing(
            repo_id=repo_id,
            commit=info.sha,
            gated=bool(info.gated),
            variants=tuple(variants),
            rejected=tuple(rejected),
            incomplete=tuple(incomplete),
        )

    def file_url(self, repo_id: str, filename: str, *, revision: str | None = None) -> str:
        """The ``resolve`` URL of a file (no network call).

        Built here rather than by ``hf_hub_url``, whose endpoint override works only
        while huggingface_hub's import-time endpoint is unchanged.
        """
        check_repo_id(repo_id)
        check_repo_path(filename)
        at = quote(revision or "main", safe="")
        return f"{self.endpoint}/{repo_id}/resolve/{at}/{quote(filename)}"

    def headers(self) -> dict[str, str]:
        """HTTP headers for a request: the library's user agent and the token, if any."""
        _quiet_library()
        from huggingface_hub.utils import build_hf_headers

        return dict(build_hf_headers(token=self.token or False, library_name="hearth"))

    def file_metadata(
        self,
        repo_id: str,
        filename: str,
        *,
        revision: str | None = None,
        action: str,
        timeout: float | None = None,
    ) -> Any:
        """What the Hub says of a file before its bytes come (``HEAD``): its size, its
        SHA-256 as ``etag`` when it is an LFS file, the commit, and where the bytes are
        (``location``). huggingface_hub's ``HfFileMetadata``."""
        self.require_online(action)
        _quiet_library()
        from huggingface_hub import get_hf_file_metadata

        url = self.file_url(repo_id, filename, revision=revision)
        with translate_errors(action, repo_id=repo_id, filename=filename):
            return get_hf_file_metadata(
                url,
                token=self.token or False,
                timeout=self.timeout_s if timeout is None else timeout,
                library_name="hearth",
                endpoint=self.endpoint,
            )

    @contextmanager
    def stream(
        self,
        url: str,
        *,
        action: str,
        repo_id: str | None = None,
        filename: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: Any = None,
    ) -> Iterator[Any]:
        """A ``GET`` of ``url`` (a file's ``resolve`` URL), its body read as it comes.

        The one way file bytes come from the Hub (downloads and header range reads):
        the offline check first, then huggingface_hub's session with Hearth's headers
        (``headers`` added, e.g. ``Range``), redirects followed. A status of 400 and
        above, and any error while the body is read inside the ``with``, become
        Hearth's typed errors (:class:`RangeNotSatisfiableError` for 416).
        """
        from huggingface_hub.utils import get_session, hf_raise_for_status

        self.require_online(action)
        sent = {**self.headers(), **(headers or {})}
        with (
            translate_errors(action, repo_id=repo_id, filename=filename),
            get_session().stream(
                "GET",
                url,
                headers=sent,
                timeout=self.timeout_s if timeout is None else timeout,
                follow_redirects=True,
            ) as response,
        ):
            hf_raise_for_status(response)
            yield response


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


def _quiet_library() -> None:
    """Keep huggingface_hub to the requests Hearth makes.

    Its user-agent builder fetches ``/api/agent-harnesses`` (from the endpoint it read
    at import, not the one Hearth talks to) once a day and caches it under
    ``HF_HOME``; that telemetry is off unless the user's own environment turned it on.
    """
    from huggingface_hub import constants

    constants.HF_HUB_DISABLE_TELEMETRY = True


@contextmanager
def translate_errors(
    action: str, *, repo_id: str | None = None, filename: str | None = None
) -> Iterator[None]:
    """Turn ``huggingface_hub`` and ``httpx`` errors raised inside into :class:`HubError`s."""
    import httpx2
    from huggingface_hub import errors as hf

    what = f"{repo_id}/{filename}" if repo_id and filename else repo_id or "the Hub"
    doing = action[:1].lower() + action[1:]  # within a sentence
    try:
        yield
    except hf.GatedRepoError:
        raise GatedRepoError(
            f"{repo_id or 'This repository'} is gated: Hugging Face lets only accounts "
            "that accepted its licence download it."
        ) from None
    except hf.RepositoryNotFoundError:
        raise RepoNotFoundError(
            f"Hugging Face has no repository {repo_id or ''} (or it is private)."
        ) from None
    except hf.RevisionNotFoundError:
        raise RepoNotFoundError(f"{repo_id} has no such revision.") from None
    except hf.RemoteEntryNotFoundError:
        raise RemoteFileNotFoundError(f"{what} does not exist on Hugging Face.") from None
    except hf.HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        if status in (401, 403):
            raise HubAuthError(
                f"{action} failed: Hugging Face refused access to {what} (HTTP {status}).",
                status=status,
            ) from None
        if status == 404:
            raise RemoteFileNotFoundError(
                f"{what} does not exist on the server.", status=status
            ) from None
        if status == 416:
            raise RangeNotSatisfiableError(
                f"{action}: the server has no bytes of {what} at the offset asked for.",
                status=status,
            ) from None
        raise HubUnavailableError(
            f"The Hub did not answer properly: {doing} failed (the server answered "
            f"{status or '?'} for {what}).",
            status=status,
        ) from None
    except httpx2.TimeoutException:
        raise HubUnavailableError(
            f"The Hub did not answer: {doing} stalled (the server stopped answering)."
        ) from None
    except httpx2.ConnectError as error:
        # A name that cannot be looked up, or no route: the network is not there.
        log.info("%s: cannot connect: %s", action, error)
        raise HubUnavailableError(
            f"You're offline: {doing} failed, since this computer cannot reach the Hub."
        ) from None
    except httpx2.TransportError as error:
        log.info("%s: transport error: %s", action, error)
        raise HubUnavailableError(
            f"The Hub did not answer: {doing} failed (the connection broke)."
        ) from None
