"""Start IKAR from a checkout: `python launch.py [--host H] [--port P] [--share] [--config FILE]`.

Same flags and checks as the `ikar` command of an installed package (both call app.cli.main).
"""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
