"""Dataverse as a second repository: the native-API client, its entities and the deposit."""
