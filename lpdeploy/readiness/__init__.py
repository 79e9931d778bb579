"""Readiness: is each learning centre ready for children tomorrow morning?"""
