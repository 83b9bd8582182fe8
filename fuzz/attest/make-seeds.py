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


if __name__ == "__main__":
    main()
