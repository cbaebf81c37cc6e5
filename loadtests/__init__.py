"""HTTP load: every variant served at once by one gunicorn, driven by locust."""
