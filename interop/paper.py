"""An independent decoder of esspass paper credentials (PA1:/EH1:), written from the profile in
docs/paper.md: Base45 → zlib → COSE_Sign1 (CBOR, tag 18) → ES256 signature over the COSE
Sig_structure, checked twice with the signing certificate's key: by hand with `cryptography`, and
by `pycose` (Sign1Message.decode + verify_signature) → CWT claims → the document (short keys).

Usage: python paper.py TEXT_FILE CERT_PEM  — prints {"alg", "kid", "iss", "iat", "exp", "type", "document"}
as JSON, or exits 1 with the reason."""
import json
import sys
import zlib

import base45
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pycose.keys import EC2Key
from pycose.keys.curves import P256
from pycose.messages import Sign1Message

SHORT = {"pn": "personal_administrative_number", "ia": "issuing_authority", "as": "authentic_source", "dn": "document_number",
         "di": "date_of_issuance", "de": "date_of_expiry", "sd": "starting_date", "ed": "ending_date", "em": "employer", "t": "type",
         "i": "id", "n": "name", "c": "country", "wi": "work_information", "nf": "no_fixed_place_of_work", "wa": "work_address",
         "f": "formatted", "s": "street_address", "h": "house_number", "p": "postal_code", "l": "locality", "r": "region",
         "cn": "company_name", "ci": "company_id", "fb": "flag_base_home", "lc": "legislation_country", "sc": "status_confirmation",
         "tr": "transitional_rules", "su": "subject", "fo": "forenames", "fa": "familynames", "b": "date_of_birth"}


def expand(v):
    if isinstance(v, dict):
        return {SHORT[k]: expand(x) for k, x in v.items()}
    if isinstance(v, list):
        return [expand(x) for x in v]
    return v


def main():
    text = open(sys.argv[1]).read().strip()
    cert = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
    prefix, body = text[:4], text[4:]
    if prefix not in ("PA1:", "EH1:"):
        sys.exit("unknown prefix")
    cose = zlib.decompress(base45.b45decode(body))
    msg = cbor2.loads(cose)
    if isinstance(msg, cbor2.CBORTag):
        assert msg.tag == 18, "not COSE_Sign1"
        msg = msg.value
    protected_bstr, _unprotected, payload, signature = msg
    protected = cbor2.loads(protected_bstr)
    alg, kid = protected[1], protected[4]
    if alg != -7:
        sys.exit("not ES256")
    der = cert.public_bytes(encoding=__import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER)
    if kid != hashes_sha256(der)[:8]:
        sys.exit("kid is not the certificate's")
    to_be_signed = cbor2.dumps(["Signature1", protected_bstr, b"", payload])
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    cert.public_key().verify(encode_dss_signature(r, s), to_be_signed, ec.ECDSA(hashes.SHA256()))
    # The same with pycose, the COSE library of the Python ecosystem.
    numbers = cert.public_key().public_numbers()
    sign1 = Sign1Message.decode(cose)
    sign1.key = EC2Key(crv=P256, x=numbers.x.to_bytes(32, "big"), y=numbers.y.to_bytes(32, "big"))
    if not sign1.verify_signature():
        sys.exit("pycose: the signature does not verify")
    claims = cbor2.loads(payload)
    doc = claims[-65537]
    print(json.dumps({"alg": alg, "kid": kid.hex(), "iss": claims[1], "iat": claims[6], "exp": claims[4],
                      "type": doc["t"], "document": expand(doc["d"]), "verified_by": ["cryptography", "pycose"]}, ensure_ascii=False))


def hashes_sha256(data):
    h = hashes.Hash(hashes.SHA256())
    h.update(data)
    return h.finalize()


if __name__ == "__main__":
    main()
