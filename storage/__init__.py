"""SQLite storage: one writer thread, repositories with intention-revealing functions.

SQL stays inside this package.
"""
