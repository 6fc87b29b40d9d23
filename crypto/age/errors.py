"""The failures of the age implementation, typed so that a test can match each one.

The decryption classes follow the failure classes of the C2SP test kit (c2sp.org/CCTV/age), so
a test can check that each broken file fails for the right reason, not just that it fails.
"""

from crypto.errors import Error


class AgeError(Error):
    """Decrypting an age file failed. Nothing of its plaintext was released."""


class HeaderError(AgeError):
    """The header is malformed, or a stanza addressed to one of our identities is invalid."""


class HeaderMACError(AgeError):
    """A file key was unwrapped but the header MAC does not match: the header was altered."""


class PayloadError(AgeError):
    """The payload is truncated, altered or not a valid STREAM encoding."""


class NoIdentityMatchError(AgeError):
    """None of the given identities (or passphrases) opens any stanza of the file."""


class ArmorError(AgeError):
    """The file looks ASCII-armored but the armor is not strict, canonical PEM."""


class RecipientError(Error):
    """A recipient string or recipients file is invalid, or recipients may not be combined."""


class IdentityError(Error):
    """An identity string or identity file is invalid."""


class PassphraseError(Error):
    """A passphrase is missing, empty, or does not open the file it was given for."""
