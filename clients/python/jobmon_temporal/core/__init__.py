"""Pieces shared by the client classes: HTTP requester, exceptions, status constants, checks."""
