"""Use-cases of the risk service, one transaction each."""
