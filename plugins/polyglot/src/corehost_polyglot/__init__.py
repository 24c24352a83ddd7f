"""One plugin, several interfaces: modules in two namespaces, hookimpls, generated modules."""
