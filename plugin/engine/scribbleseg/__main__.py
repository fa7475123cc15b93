import sys

from scribbleseg.cli import main

sys.exit(main())
