import sys

from rlplastic.bench.cli import main

sys.exit(main())
