"""The report's sections, in order. Each module has ``TITLE`` and ``build(ctx) -> list`` of blocks
(``reports.document``); the headings, their numbers and the table of contents come from this list.
A new section is one module here and one entry in ``SECTIONS``."""
from reports.sections import compat, comparison, conformance, construction, counts, environment, load, methods, verdict

SECTIONS = (verdict, conformance, construction, methods, load, counts, compat, environment, comparison)
