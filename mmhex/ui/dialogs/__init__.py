"""Dialogs and small panels of the editing feature: fill, undo history, save questions."""
