"""``--same-params``: which files the shared parameters fit.

The parameters resolved (or tuned) on one file are per spatial axis (a time
axis gets its own radii) and in that file's raw units. They serve the other
files with the same spatial axes; a file with other axes (a 2-D image after a
``TYX`` stack, a ``ZYX`` volume after a ``TYX`` stack) fails by name before
any work on it, and the batch goes on.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import NLMeansError


@dataclass(frozen=True)
class ParamsSource:
    """The file whose parameters ``--same-params`` shares: its name and spatial axes."""

    name: str
    spatial: str

    def check(self, picture) -> None:
        """Raise NLMeansError when ``picture``'s spatial axes are not the source's.

        Parameters
        ----------
        picture : nlmeans.io.Picture
            The file about to be denoised with the shared parameters.
        """
        if picture.spatial != self.spatial:
            raise NLMeansError(
                f"--same-params: the shared parameters come from {self.name} "
                f"({self.spatial} axes) and do not fit this file's {picture.spatial} axes; "
                "denoise files of each kind in a batch of their own"
            )
