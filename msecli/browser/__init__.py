"""The real browser beside the simulation: an HTTP server for segment directories and the shipped pages
(`server`), headless Chromium through Playwright (`chromium`), and scenario scripts run in it (`verify`)."""
