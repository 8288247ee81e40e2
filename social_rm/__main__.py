import sys

from social_rm.cli import main

sys.exit(main())
