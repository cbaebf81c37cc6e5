"""The report: ``python -m reports.render`` turns the raw results into REPORT.md, report.html and charts;
``python -m reports.publish`` copies a full run's report and raw data into ``reports/published/``."""
