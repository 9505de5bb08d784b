"""Kleline's server-rendered pages (Jinja2): the hosted checkout."""
