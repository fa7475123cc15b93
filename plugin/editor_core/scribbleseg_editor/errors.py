"""The one error type, carrying the cloud API's error code (standard library only).

Every refusal a user can meet (bad input, limits, authentication, engine faults, and in the
editors a document that is not ready or an engine that cannot start) is a `ScribbleSegError`.
The HTTP server turns it into the API's error body; the command line prints its message; the
editor plug-ins show it in a message box. The engine imports it from here, so the editors, which
cannot import the engine, share it.
"""

from __future__ import annotations

# code -> (HTTP status, what the user should do next)
ERROR_CODES: dict[str, tuple[int, str]] = {
    "InvalidParameter": (400, "Check the parameter named in the message."),
    "ClientError.IllegalArgument": (400, "Check the parameter named in the message."),
    "IllegalUrlParameter": (400, "Pass an http(s) URL that the server may fetch."),
    "InvalidAction.NotFound": (400, "Use Action=InteractiveScribbleSegmentation."),
    "InvalidImage.Format": (400, "Use a JPG, JPEG, PNG, BMP or WEBP file."),
    "InvalidImage.Resolution": (400, "Scale the image down (or crop it), then run again."),
    "InvalidFile.Size": (400, "Use a smaller file."),
    "InvalidFile.Content": (400, "The file could not be decoded; export it again."),
    "InvalidFile.Download": (400, "Make sure the URL is reachable and returns the file."),
    "AuthFailed": (403, "Check the AccessKeyId, the secret and the request signature."),
    "InvalidAccessKeyId.NotFound": (404, "Check the AccessKeyId."),
    "Throttling": (429, "Retry after the time given in x-acs-retry-after."),
    "InternalError": (500, "Retry; if it persists, report the RequestId."),
    "InternalError.Algo": (500, "Retry; if it persists, report the RequestId."),
    "InternalError.Timeout": (500, "Retry with a smaller image."),
    # Conditions only the editors meet; the message says what to do.
    "NoScribbleLayers": (400, ""),
    "NoStrokes": (400, ""),
    "NoTargetLayer": (400, ""),
    "ScribbleLayerOpaque": (400, ""),
    "UnsupportedDocument": (400, ""),
    "UnsupportedEditor": (400, ""),
    "OutputFailed": (500, ""),
    "EngineNotInstalled": (503, ""),
    "EngineInstallFailed": (503, ""),
    "EngineInstallCancelled": (503, ""),
    "HostUnreachable": (503, ""),
    "HostFailed": (503, ""),
    "CloudRefused": (502, ""),  # a cloud endpoint's own code, relayed by the host
}


class ScribbleSegError(Exception):
    """A refusal with the API's error code and a message a user understands."""

    def __init__(self, code: str, message: str, *, http_status: int | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status or ERROR_CODES[code][0]

    @property
    def recommend(self) -> str:
        return ERROR_CODES[self.code][1]

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


# Codes whose advice speaks to an API caller about its parameters: in an editor the plug-in built
# the request, so the user gets this advice instead.
API_CALLER_CODES = {"InvalidParameter", "ClientError.IllegalArgument", "IllegalUrlParameter",
                    "InvalidAction.NotFound"}
# How a user installs the plug-in and its engine again: the advice of every message about an
# engine that is missing or does not start (host.py, first_run.py).
REINSTALL = ("Install the plug-in from its zip, or run `python3 build.py install` in the "
             "ScribbleSeg folder, then try again.")
EDITOR_ADVICE = "Update ScribbleSeg (build.py install); if it persists, report this message."


def editor_message(error: ScribbleSegError) -> str:
    """A refusal in the words an editor user reads: a sentence, then what to do."""
    message = error.message.strip()
    message = message[:1].upper() + message[1:]
    if not message.endswith((".", "!", "?")):
        message += "."
    advice = EDITOR_ADVICE if error.code in API_CALLER_CODES else error.recommend
    return message if not advice or advice in message else f"{message} {advice}"
