"""The errors of setting up a language model, in a module of their own so that the LM modules
(``select``, ``local``) can all raise them without importing each other."""


class LMConfigError(ValueError):
    """The language model cannot be set up as asked; the message says what to do."""
