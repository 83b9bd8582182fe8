#!/usr/bin/env python3
"""Regenerate the small seed corpora of the attestation fuzz targets.

The seeds are synthetic (no keys, no AMD material): structurally valid
protobuf, ABI reports and JSON documents so the fuzzers start deep.
"""
import base64
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CRL_KEY = b"00569ee4-e480-4fba-bbf4-45b629901180"


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def field(num, wt, payload):
    return varint(num << 3 | wt) + payload


def u(num, v):
    return field(num, 0, varint(v)) if v else b""


def b(num, data):
    return field(num, 2, varint(len(data)) + data)


def report_fields(version=3):
    tcb = 10 | 28 << 48 | 88 << 56
    r = u(1, version) + u(2, 2) + u(3, 0x2030000)
    r += b(4, b"\x01" + bytes(15)) + b(5, b"\x02" + bytes(15))
    r += u(7, 1) + u(8, tcb + (1 << 48)) + u(9, 0x24)
    r += b(11, bytes(range(64))) + b(12, bytes(range(0xA0, 0xD0)))
    r += b(13, bytes([0x11] * 32)) + b(14, bytes([0xEE] * 48))
    r += b(15, bytes(48)) + b(16, bytes([0x5A] * 32)) + b(17, bytes([0xFF] * 32))
    r += u(18, tcb) + b(19, bytes([0xC0 ^ i for i in range(64)]))
    r += u(20, tcb + (1 << 48)) + u(21, 21) + u(22, 55) + u(23, 1)
    r += u(24, 21) + u(25, 55) + u(26, 1) + u(27, tcb)
    r += b(28, bytes([7] * 144) + bytes(368))
    if version >= 3:
        r += u(29, 0x00A10F11)
    r += u(30, 15) + u(31, 15)
    return r


def attestation():
    chain = b(1, b"VCEK-DER") + b(2, b"ASK-DER") + b(3, b"ARK-DER")
    chain += b(7, b(1, CRL_KEY) + b(2, b"CRL-DER"))
    product = u(1, 2) + b(3, b"")
    return b(1, report_fields()) + b(2, chain) + b(3, product)


def abi(version=3):
    r = bytearray(0x4A0)
    tcb = 10 | 28 << 48 | 88 << 56
    struct.pack_into("<IIQ", r, 0, version, 2, 0x2030000)
    r[0x10] = 1
    r[0x20] = 2
    struct.pack_into("<IIQQI", r, 0x30, 0, 1, tcb + (1 << 48), 0x24, 0)
    r[0x50:0x90] = bytes(range(64))
    r[0x90:0xC0] = bytes(range(0xA0, 0xD0))
    struct.pack_into("<Q", r, 0x180, tcb)
    if version >= 3:
        r[0x188:0x18B] = b"\x19\x11\x01"
    r[0x1A0:0x1E0] = bytes([0xC0 ^ i for i in range(64)])
    struct.pack_into("<Q", r, 0x1E0, tcb + (1 << 48))
    r[0x1E8:0x1EB] = bytes([21, 55, 1])
    r[0x1EC:0x1EF] = bytes([21, 55, 1])
    struct.pack_into("<QQQ", r, 0x1F0, tcb, 15, 15)
    r[0x2A0:0x330] = bytes([7] * 0x90)
    return bytes(r)


MANIFEST = {
    "Policies": {"11" * 32: {"SANs": ["coordinator"], "WorkloadSecretID": "",
                             "Role": "coordinator"}},
    "ReferenceValues": {
        "snp": [{
            "Platform": "Metal-QEMU-SNP-GPU", "ProductName": "Genoa",
            "TrustedMeasurement": bytes(range(0xA0, 0xD0)).hex(),
            "MinimumTCB": {"BootloaderVersion": 10, "TEEVersion": 0,
                           "SNPVersion": 28, "MicrocodeVersion": 88},
            "GuestPolicy": {"SMT": True, "PageSwapDisable": True},
            "PlatformInfo": {"ECCEnabled": True, "AliasCheckComplete": True},
            "MinimumMitigationVector": 15,
            "AllowedChipIDs": [bytes([0xC0 ^ i for i in range(64)]).hex().upper()],
            "CPUs": 1}],
        "tdx": [{"MrTd": "3c" * 48, "MrSeam": "3c" * 48, "Xfam": "e702060000000000",
                 "Rtmrs": ["3c" * 48] * 4, "AllowedPIIDs": []}]},
    "WorkloadOwnerKeyDigests": [], "SeedshareOwnerPubKeys": []}


def tdx_quote():
    header = u(1, 4) + u(2, 2) + u(3, 0x81) + b(4, b"\0\0") + b(5, b"\x0b\0")
    header += b(6, bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")) + b(7, bytes(20))
    body = b(1, bytes(16)) + b(2, bytes(48)) + b(3, bytes(48)) + b(4, bytes(8))
    body += b(5, bytes.fromhex("0000001000000000")) + b(6, bytes.fromhex("e71a060000000000"))
    body += b(7, bytes(48)) + b(8, bytes(48)) + b(9, bytes(48)) + b(10, bytes(48))
    body += b"".join(b(11, bytes(48)) for _ in range(4)) + b(12, bytes(64))
    pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" * 3
    report = b(1, bytes(16)) + b(3, bytes(28)) + b(4, bytes(16)) + b(5, bytes(32))
    report += b(6, bytes(32)) + b(7, bytes(32)) + b(8, bytes(96)) + u(9, 2) + u(10, 4)
    report += b(11, bytes(60)) + b(12, bytes(64))
    qe = b(1, report) + b(2, bytes(64)) + b(3, u(1, 32) + b(2, bytes(32)))
    qe += b(4, u(1, 5) + u(2, len(pem)) + b(3, pem))
    size = 384 + 64 + 2 + 32 + 6 + len(pem)
    cert = u(1, 6) + u(2, size) + b(3, qe)
    signed = b(1, bytes(64)) + b(2, bytes(64)) + b(3, cert)
    return b(1, header) + b(2, body) + u(3, 128 + 6 + size) + b(4, signed)


TCB_INFO = (b'{"tcbInfo":{"id":"TDX","version":3,"issueDate":"2023-06-18T08:42:58Z",'
            b'"nextUpdate":"2023-07-18T08:42:58Z","fmspc":"50806f000000","pceId":"0000",'
            b'"tcbType":0,"tcbEvaluationDataNumber":15,"tdxModule":{"mrsigner":"00",'
            b'"attributes":"00","attributesMask":"FF"},"tcbLevels":[{"tcb":{"sgxtcbcomponents":'
            b'[{"svn":1}],"pcesvn":1,"tdxtcbcomponents":[{"svn":1}]},"tcbDate":'
            b'"2023-02-15T00:00:00Z","tcbStatus":"UpToDate"}]},"signature":"' + b"ab" * 64 + b'"}')
QE_ID = (b'{"enclaveIdentity":{"id":"TD_QE","version":2,"issueDate":"2023-06-08T07:24:59Z",'
         b'"nextUpdate":"2023-07-08T07:24:59Z","miscselect":"00000000","miscselectMask":"FFFFFFFF",'
         b'"attributes":"00","attributesMask":"00","mrsigner":"00","isvprodid":2,"tcbLevels":'
         b'[{"tcb":{"isvsvn":4},"tcbDate":"2023-02-15T00:00:00Z","tcbStatus":"UpToDate"}]},'
         b'"signature":"' + b"cd" * 64 + b'"}')


def b64(x):
    return base64.b64encode(x).decode()


def write(sub, name, data):
    d = os.path.join(HERE, "corpus", sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    att = attestation()
    write("proto", "attestation", att)
    write("proto", "report-only", b(1, report_fields(2)))
    write("proto", "tdx-quote", bytes.fromhex("0a070804100218810112040a0200001880 04".replace(" ", "")))
    write("report", "v3", abi(3))
    write("report", "v2", abi(2))
    manifest = json.dumps(MANIFEST, separators=(",", ":")).encode()
    pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    coord = json.dumps({
        "version": "v1.20.0", "raw_attestation_doc": b64(att),
        "manifests": [b64(manifest)], "policies": [b64(b"package p\n")],
        "root_ca": b64(pem), "mesh_ca": b64(pem)}, separators=(",", ":")).encode()
    write("json", "coordinator", coord)
    write("json", "manifest", manifest)
    write("json", "envelope", json.dumps({"AttestationDoc": b64(coord)}).encode())
    write("json", "typed", coord[:-1] + b',"attestation_type":[1,3,9901,2,2]}')
    # TDX: a tdx.QuoteV4 of the right shape (no keys, nothing verifies),
    # and the pieces of collateral (the real ones come from
    # tests/attest/intel at run time).
    write("tdx_quote", "quote-v4", tdx_quote())
    write("tdx_coll", "tcb-info", b"\x00" + TCB_INFO)
    write("tdx_coll", "qe-identity", b"\x01" + QE_ID)
    write("tdx_coll", "time", b"\x07" + b"2023-07-18T08:42:58.123+02:00")


if __name__ == "__main__":
    main()
