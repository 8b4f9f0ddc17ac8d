"""The caseroute app: the `caseroute` command, the wiring of the four services, the API documents.

The one place that imports every service: intake, router, tracker and notifier never import each other, and the
kit (`services/`) imports none of them (import-linter checks both).
"""
