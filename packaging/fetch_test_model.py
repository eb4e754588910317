"""Download the tiny test model (stories260K, 1 MB) the bundle self-test loads in CI.

    python packaging/fetch_test_model.py [DEST]    # default: build/stories260K.gguf

Prints the path. Skips the download when the file is already there. Used by the
release workflow; here the model is in ../shared/models.
"""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

URL = "https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf"


def main() -> int:
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "build/stories260K.gguf")
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_suffix(".gguf.incomplete")
        with urllib.request.urlopen(URL, timeout=60) as response:
            partial.write_bytes(response.read())
        if partial.read_bytes()[:4] != b"GGUF":
            raise SystemExit(f"{URL} did not return a GGUF file")
        partial.replace(dest)
    print(dest.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
