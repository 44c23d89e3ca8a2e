"""``python -m incrbuild``: the same as the ``incrbuild`` command."""

from incrbuild._cli import main

raise SystemExit(main())
