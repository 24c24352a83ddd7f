"""A plugin for hostapp: it uses the ``hostapp.*`` groups, so corehost never sees it."""
