from corehost_build.cli import entry

entry()
