"""hostapp: an example application that is a corehost-based host of its own.

It runs a text through a pipeline of ``tasks`` modules. Its plugins use the
``hostapp.*`` entry-point groups and ``HOSTAPP_PLUGINS`` /
``HOSTAPP_DISABLE_PLUGINS``; they may implement its hook
``hostapp_task_done``.
"""
