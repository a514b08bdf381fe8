import sys

from attractor_core.cli.main import main

sys.exit(main())
