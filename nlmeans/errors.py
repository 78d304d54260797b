"""The one exception type nlmeans raises for invalid input or parameters."""


class NLMeansError(ValueError):
    """Raised for every invalid input or parameter, with a message naming it.

    A subclass of ValueError, so code that catches ValueError around a
    denoiser keeps working.
    """
