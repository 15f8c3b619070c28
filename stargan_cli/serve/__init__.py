"""`stargan serve`: a local web page to translate photos (service.py: models and translations; app.py:
the FastAPI app; page.html: the page)."""
