"""neuroalign.batch."""

__all__: list[str] = []
