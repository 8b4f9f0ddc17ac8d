"""The router service. Its decisions (router.domain) run compiled when a current build is present: router.native."""

import os

from router.native import prefer_current

# The directory string exactly as router.domain's __path__ will hold it: the import cache is keyed by it.
COMPILED = prefer_current(os.path.join(__path__[0], "domain"))
