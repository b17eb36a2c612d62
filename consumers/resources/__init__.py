"""Files the package reads at run time: the default config and the dead-letter Avro schema.

They are package data, found with ``importlib.resources``, so that an
installed wheel finds them wherever it runs, not only next to a checkout.
The repository's ``configs/pipeline.yaml`` and ``configs/schemas/dead_letter.avsc``
are symbolic links to these files, so there is one copy and it cannot drift.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

__all__ = ["DEAD_LETTER_SCHEMA", "DEFAULT_CONFIG"]

DEFAULT_CONFIG: Traversable = files(__name__) / "pipeline.yaml"
DEAD_LETTER_SCHEMA: Traversable = files(__name__) / "dead_letter.avsc"
