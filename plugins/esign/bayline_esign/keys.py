"""The platform's signing keys.

The runtime key directory (``<instance dir>/esign``) holds only what signing needs: the
document-signing key (``signer.key.pem``, PEM-encrypted with the app's secret key), its
certificate (``signer.pem``) and the CA certificate (``ca.pem``, the chain and the trust root of
verification). The CA's private key never lives there and the app never reads it: it exists only
in a separate CA directory that the operator keeps offline (``flask esign init-ca`` /
``issue-signing-cert``, encrypted with a passphrase of its own), or nowhere at all when the keys were
set up automatically (first use, ``flask esign init-keys`` without ``--ca-dir``: the CA key is
generated in memory, signs the certificate and is discarded). The loaded pyHanko signer is cached
per key directory.
"""
from __future__ import annotations

import asyncio
import io
import logging
import os
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import current_app
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import FieldMDPAction, FieldMDPSpec, MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

log = logging.getLogger(__name__)
FIELD_NAME = "BaylineSeal"
CA_KEY = "ca.key.pem"  # only ever in the CA directory, never in the runtime key directory
BYTES_RESERVED = 8192  # ECDSA P-256 CMS with two certificates is ~1.5 kB; room for a timestamp token later
_lock = threading.Lock()
_cache: dict[str, PlatformKeys] = {}


def off_loop(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a synchronous pyHanko function (they use ``asyncio.run`` inside).

    In a thread whose event loop is running (an async server, or Playwright's sync API in the
    same test process) ``asyncio.run`` refuses, so the call goes to a short-lived worker thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="esign-pyhanko") as pool:
        return pool.submit(fn, *args, **kwargs).result()


@dataclass
class PlatformKeys:
    directory: Path
    ca_cert: asn1_x509.Certificate
    signing_cert: asn1_x509.Certificate
    signer: signers.SimpleSigner
    previous_cas: tuple[asn1_x509.Certificate, ...] = ()

    def validation_context(self) -> ValidationContext:
        """Trust roots: the current CA and the CAs of earlier signing certificates."""
        return ValidationContext(trust_roots=[self.ca_cert, *self.previous_cas], allow_fetching=False)


def key_dir(app: Any = None) -> Path:
    app = app or current_app
    return Path(app.extensions["bayline.settings"].instance_dir) / "esign"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bayline"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


class CaProblem(Exception):
    """The CA directory is missing, unreadable or in the wrong place (a message for the operator)."""


def _new_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder().subject_name(_name("Bayline Platform CA")).issuer_name(_name("Bayline Platform CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return ca_key, ca_cert


def _issue(directory: Path, secret: bytes, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate) -> None:
    """A new document-signing key and certificate under ``ca_cert`` into the runtime ``directory``."""
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(_name("Bayline Document Signing")).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    current = directory / "ca.pem"
    if current.exists() and current.read_bytes() != ca_cert.public_bytes(pem):
        # A different CA: its certificate stays a trust root, so documents it sealed keep validating.
        n = 1 + len(list(directory.glob("ca.previous-*.pem")))
        os.replace(current, directory / f"ca.previous-{n}.pem")
    _write(current, ca_cert.public_bytes(pem))
    _write(directory / "signer.key.pem", key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                           serialization.BestAvailableEncryption(secret)))
    _write(directory / "signer.pem", cert.public_bytes(pem))  # written last: marks the set complete
    _cache.pop(str(directory), None)


def _check_apart(runtime_dir: Path, ca_dir: Path) -> None:
    runtime, ca = runtime_dir.resolve(), ca_dir.resolve()
    if ca == runtime or runtime in ca.parents or ca in runtime.parents:
        raise CaProblem(f"the CA directory {ca_dir} must be outside the runtime key directory {runtime_dir}")


def generate_keys(directory: Path, secret: bytes, *, force: bool = False) -> bool:
    """Set up the runtime ``directory`` with a CA of its own (False when it is set up already).

    The CA key is generated in memory, signs the document-signing certificate and is discarded:
    nothing can issue another certificate under this CA (use ``init-ca`` for a CA kept offline)."""
    if (directory / "signer.pem").exists() and not force:
        return False
    ca_key, ca_cert = _new_ca()
    _issue(directory, secret, ca_key, ca_cert)
    return True


def init_ca(runtime_dir: Path, ca_dir: Path, passphrase: bytes, secret: bytes, *, force: bool = False) -> str:
    """Create the platform CA in ``ca_dir`` (its key encrypted with ``passphrase``), outside the
    runtime key directory. A CA key left in ``runtime_dir`` by an older version is moved there
    instead (re-encrypted), so documents sealed before keep validating. Returns what happened:
    ``created``, ``moved`` or ``kept``."""
    _check_apart(runtime_dir, ca_dir)
    if (ca_dir / CA_KEY).exists() and not force:
        return "kept"
    ca_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(ca_dir, 0o700)
    legacy = runtime_dir / CA_KEY
    pem = serialization.Encoding.PEM
    enc = serialization.BestAvailableEncryption(passphrase)
    pkcs8 = serialization.PrivateFormat.PKCS8
    if legacy.exists() and not force:
        old = serialization.load_pem_private_key(legacy.read_bytes(), password=secret)
        _write(ca_dir / CA_KEY, old.private_bytes(pem, pkcs8, enc))  # type: ignore[union-attr]
        shutil.copyfile(runtime_dir / "ca.pem", ca_dir / "ca.pem")
        legacy.unlink()
        return "moved"
    ca_key, ca_cert = _new_ca()
    _write(ca_dir / CA_KEY, ca_key.private_bytes(pem, pkcs8, enc))
    _write(ca_dir / "ca.pem", ca_cert.public_bytes(pem))
    return "created"


def issue_signing_cert(runtime_dir: Path, ca_dir: Path, passphrase: bytes, secret: bytes) -> None:
    """A new document-signing key and certificate from the CA in ``ca_dir`` into ``runtime_dir``
    (with the CA certificate; never the CA key). Documents sealed before keep validating."""
    _check_apart(runtime_dir, ca_dir)
    if not (ca_dir / CA_KEY).exists():
        raise CaProblem(f"no CA in {ca_dir}: run `flask esign init-ca` first")
    try:
        ca_key = serialization.load_pem_private_key((ca_dir / CA_KEY).read_bytes(), password=passphrase)
    except ValueError as exc:
        raise CaProblem("the CA passphrase is wrong") from exc
    ca_cert = x509.load_pem_x509_certificate((ca_dir / "ca.pem").read_bytes())
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise CaProblem(f"{ca_dir / CA_KEY} is not an EC key")
    _issue(runtime_dir, secret, ca_key, ca_cert)


def _asn1_cert(path: Path) -> asn1_x509.Certificate:
    der = x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(serialization.Encoding.DER)
    return asn1_x509.Certificate.load(der)


def load_keys(app: Any = None) -> PlatformKeys:
    """The platform keys of ``app`` (generated on first use), cached."""
    app = app or current_app
    directory = key_dir(app)
    cached = _cache.get(str(directory))
    if cached is not None:
        return cached
    secret = app.config["SECRET_KEY"].encode()
    with _lock:
        cached = _cache.get(str(directory))
        if cached is not None:
            return cached
        generate_keys(directory, secret)
        if (directory / CA_KEY).exists():
            log.warning("a CA private key lies in the runtime key directory %s (from an older version; "
                        "never read): move it out with `flask esign init-ca --ca-dir DIR`", directory)
        ca_cert = _asn1_cert(directory / "ca.pem")
        signing_cert = _asn1_cert(directory / "signer.pem")
        private = serialization.load_pem_private_key((directory / "signer.key.pem").read_bytes(), password=secret)
        der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        signer = signers.SimpleSigner(
            signing_cert=signing_cert, signing_key=asn1_keys.PrivateKeyInfo.load(der),
            cert_registry=SimpleCertificateStore.from_certs([ca_cert]))
        previous = tuple(_asn1_cert(p) for p in sorted(directory.glob("ca.previous-*.pem")))
        keys = PlatformKeys(directory, ca_cert, signing_cert, signer, previous)
        _cache[str(directory)] = keys
        return keys


def seal(pdf: bytes, *, signer_name: str, reason: str, location: str | None = None) -> bytes:
    """PAdES B-B signature with the platform certificate, certifying the document (DocMDP: no changes)."""
    keys = load_keys()
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256",
        certify=True, docmdp_permissions=MDPPerm.NO_CHANGES,
        reason=reason, name=signer_name, location=location,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    # A fixed reservation skips pyHanko's dry-run signature used to estimate the size (halves the time).
    out = off_loop(signers.sign_pdf, writer, meta, signer=keys.signer, bytes_reserved=BYTES_RESERVED)
    return out.getvalue()


def seal_signers(pdf: bytes, signers_: list[tuple[str, str]], *, location: str | None = None) -> bytes:
    """One PAdES signature field per human signer, applied as successive incremental updates.

    ``signers_`` is ``[(signer name, reason), ...]`` in signing order. With one signer this is
    :func:`seal` (certification, DocMDP no changes). With several, the first signature certifies the
    document allowing only further signatures (DocMDP 2), the later ones are approval signatures, and
    the last one locks the document (its field's /Lock: DocMDP no changes), so nothing can follow.
    """
    if len(signers_) == 1:
        name, reason = signers_[0]
        return seal(pdf, signer_name=name, reason=reason, location=location)
    keys = load_keys()
    data = pdf
    for index, (name, reason) in enumerate(signers_):
        last = index == len(signers_) - 1
        field = f"{FIELD_NAME}{index + 1}"
        meta = signers.PdfSignatureMetadata(
            field_name=field, subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256",
            certify=index == 0, docmdp_permissions=MDPPerm.NO_CHANGES if last else MDPPerm.FILL_FORMS,
            reason=reason, name=name, location=location,
        )
        spec = SigFieldSpec(field, field_mdp_spec=FieldMDPSpec(FieldMDPAction.ALL) if last else None,
                            doc_mdp_update_value=MDPPerm.NO_CHANGES if last else None)
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        data = off_loop(signers.sign_pdf, writer, meta, signer=keys.signer, bytes_reserved=BYTES_RESERVED,
                        new_field_spec=spec).getvalue()
    return data


@dataclass
class SignatureResult:
    field: str
    name: str | None
    bottom_line: bool
    coverage: str | None
    modifications: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "name": self.name, "bottom_line": self.bottom_line,
                "coverage": self.coverage, "modifications": self.modifications}


@dataclass
class Verdict:
    signed: bool
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    bottom_line: bool = False
    docmdp: str | None = None
    signer: str | None = None
    signing_time: str | None = None
    coverage: str | None = None
    modifications: str | None = None
    error: str | None = None
    signatures: list[SignatureResult] | None = None

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.valid and self.trusted and self.bottom_line

    def as_dict(self) -> dict[str, Any]:
        return {"signed": self.signed, "intact": self.intact, "valid": self.valid, "trusted": self.trusted,
                "bottom_line": self.bottom_line, "docmdp": self.docmdp, "signer": self.signer,
                "signing_time": self.signing_time, "coverage": self.coverage,
                "modifications": self.modifications, "error": self.error, "ok": self.ok,
                "signatures": [r.as_dict() for r in self.signatures or []]}


def verify(pdf: bytes, app: Any = None) -> Verdict:
    """Validate every embedded signature of ``pdf`` against the platform CA (all must pass)."""
    keys = load_keys(app)
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = reader.embedded_signatures
    except Exception as exc:
        return Verdict(signed=False, error=f"unreadable PDF: {type(exc).__name__}")
    if not sigs:
        return Verdict(signed=False, error="no digital signature in this PDF")
    verdict = Verdict(signed=True, signatures=[])
    vc = keys.validation_context()
    statuses = []
    try:
        for sig in sigs:
            status = off_loop(validate_pdf_signature, sig, vc)
            statuses.append(status)
            name = sig.sig_object.get("/Name")
            verdict.signatures.append(SignatureResult(
                field=sig.field_name, name=str(name) if name is not None else None,
                bottom_line=bool(status.bottom_line),
                coverage=status.coverage.name if status.coverage is not None else None,
                modifications=status.modification_level.name if status.modification_level is not None else None))
    except Exception as exc:
        verdict.error = f"signature could not be validated: {type(exc).__name__}: {exc}"
        return verdict
    # Every signature must hold; the first certifies, the last covers the whole file and locks it.
    first, status = sigs[0], statuses[-1]
    verdict.intact = all(bool(s.intact) for s in statuses)
    verdict.valid = all(bool(s.valid) for s in statuses)
    verdict.trusted = all(bool(s.trusted) for s in statuses)
    verdict.bottom_line = all(bool(s.bottom_line) for s in statuses)
    level = sigs[-1].docmdp_level
    verdict.docmdp = level.name if level is not None else None
    verdict.signer = status.signing_cert.subject.human_friendly if status.signing_cert is not None else None
    verdict.signing_time = status.signer_reported_dt.isoformat() if status.signer_reported_dt else None
    verdict.coverage = status.coverage.name if status.coverage is not None else None
    verdict.modifications = status.modification_level.name if status.modification_level is not None else None
    if status.coverage is not None and status.coverage.name != "ENTIRE_FILE":
        verdict.bottom_line = False  # something was appended after the last signature
    if first.docmdp_level is None or level != MDPPerm.NO_CHANGES:
        verdict.bottom_line = False
        verdict.error = "the document is not certified and locked by the platform"
    return verdict
