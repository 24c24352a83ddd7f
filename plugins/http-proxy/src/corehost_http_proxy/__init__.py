"""The reverse proxy plugin: handler ``http.handlers.reverse_proxy`` and its selection policies."""
