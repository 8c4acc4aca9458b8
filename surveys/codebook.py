"""Question banks from codebooks (placeholder replaced below)."""


def question_bank(*args, **kwargs):  # pragma: no cover - replaced
    raise NotImplementedError
