"""The http plugin: the ``http`` app, namespaces ``http.handlers`` and ``http.matchers``,
and the standard handlers and matchers."""
