"""Pure rules of configuration documents: namespaces, secret fields, masking."""
