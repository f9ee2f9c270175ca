import sys

from uketome.cli import main

sys.exit(main())
