"""``python -m consumers.cli``: the same as the ``cwlpipe`` script."""

import sys

from consumers.cli import main

sys.exit(main())
