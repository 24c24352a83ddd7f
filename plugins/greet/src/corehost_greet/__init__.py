"""The greet plugin: owns namespaces ``greeters`` and ``greet.filters``."""
