"""Kleline's server-rendered pages (Jinja2): the hosted checkout, with sign-in and wallet opening.

Pages work without JavaScript and follow post/redirect/get; forms are protected against cross-site request forgery
(``csrf``) and sessions live on the server (``sessions``). They speak French and English (``i18n``).
``app.install`` mounts them on the API's application.
"""
