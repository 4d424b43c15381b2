import sys

from examples.helpdesk.run import main

sys.exit(main())
