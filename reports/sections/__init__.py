"""The report's sections, in order. Each module has ``TITLE`` and ``build(ctx) -> list`` of blocks
(``reports.document``); the headings, their numbers and the table of contents come from this list.
A new section is one module here and one entry in ``SECTIONS``."""
from reports.sections import (compat, comparison, conformance, construction, counts, deploy, environment, load, methods,
                              payloads, verdict)

SECTIONS = (verdict, conformance, construction, methods, load, counts, payloads, compat, deploy, environment, comparison)
