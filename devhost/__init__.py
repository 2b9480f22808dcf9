"""A local host for this function app: runs ``function_app.py`` end to end without Core Tools.

Not deployed (``.funcignore`` excludes it). ``python -m devhost start`` is the entry point.
"""
