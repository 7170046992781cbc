"""End-to-end tests in a real JupyterLab (a package, so that its fixtures end with it)."""
