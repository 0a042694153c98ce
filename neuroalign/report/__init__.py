"""neuroalign.report."""

__all__: list[str] = []
