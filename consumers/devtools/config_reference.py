"""``python -m consumers.devtools.config_reference``: write docs/configuration.md."""

from __future__ import annotations

from pathlib import Path

from consumers.config.reference import render

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"

if __name__ == "__main__":  # pragma: no cover
    REFERENCE.write_text(render(), encoding="utf-8")
    print(f"wrote {REFERENCE}")
