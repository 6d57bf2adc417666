"""Brands a team works for: the first team-scoped domain and the pattern for the others.

Table: `brands` (team-scoped by RLS). Any member reads, creates and edits; admins delete.
Names are unique per team, case-insensitively.
"""
