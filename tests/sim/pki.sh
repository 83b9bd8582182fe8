#!/bin/sh
# Generate the simulator's fake PKI with the openssl CLI.
#
#   pki.sh OUTDIR
#
# Everything a real Privatemode deployment presents to a client is faked
# here with keys we own: the AMD SEV-SNP vendor chain (ARK -> ASK -> VCEK,
# RSASSA-PSS/SHA-384 like AMD's), the ARK-signed CRL, the Contrast root and
# mesh CAs with a mesh leaf for the secret service, a TLS CA with a loopback
# server certificate, and the negative variants the fault switches need.
# Only the trust anchors differ from production, so a client under test can
# run its real verification code against them.
#
# Inputs (environment, all optional):
#   SIM_HWID           128 hex digits, the chip's hardware ID (VCEK ext .4)
#   SIM_HWID_STRANGER  128 hex digits, a chip that the manifest does not allow
#   SIM_TCB            "bl tee snp ucode" of the VCEK            (10 0 28 88)
#   SIM_TCB_LOW        same, for the below-minimum VCEK          (10 0 27 88)
#   SIM_SGX_EXT        hex DER of the PCK certificate's SGX extension
#                      (1.2.840.113741.1.13.1), from lib/tdx.mjs
#
# The output directory gets a ".complete" stamp holding PKI_VERSION; the
# simulator regenerates when the stamp is missing or older.
set -eu

PKI_VERSION=3
out=${1:?usage: pki.sh OUTDIR}
command -v openssl >/dev/null || { echo "pki.sh: openssl not found" >&2; exit 1; }

HWID=${SIM_HWID:?SIM_HWID must be set}
HWID_STRANGER=${SIM_HWID_STRANGER:?SIM_HWID_STRANGER must be set}
SGX_EXT=${SIM_SGX_EXT:?SIM_SGX_EXT must be set}
set -- ${SIM_TCB:-10 0 28 88}
BL=$1 TEE=$2 SNP=$3 UCODE=$4
set -- ${SIM_TCB_LOW:-10 0 27 88}
LBL=$1 LTEE=$2 LSNP=$3 LUCODE=$4

rm -rf "$out.tmp"
mkdir -p "$out.tmp"
cd "$out.tmp"

# AMD's certificates put the DN attributes in this order (checked against
# the public Genoa cert_chain); clients compare single values, not order,
# but mimicking it keeps the fakes close to the real thing.
AMD="/OU=Engineering/C=US/L=Santa Clara/ST=CA/O=Advanced Micro Devices"
PSS="-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:48 -sigopt rsa_mgf1_md:sha384"
CRLDP="URI:https://kdsintf.amd.com/vcek/v1/Genoa/crl"
NOW_MINUS_DAY=$(date -u -d '1 day ago' +%Y%m%d%H%M%SZ)

cat >ext.cnf <<EOC
[ark]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
crlDistributionPoints = $CRLDP
[ask]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = $CRLDP
[ca_ec]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[mesh_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth, serverAuth
subjectAltName = DNS:secret-service, DNS:secret-service.continuum-core
authorityKeyIdentifier = keyid
[tls_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost, DNS:sim.pm-e2e.test
authorityKeyIdentifier = keyid
EOC

# VCEK extension sections: AMD's OIDs 1.3.6.1.4.1.3704.1.* with the TCB
# components as INTEGERs and the hwID as raw 64 bytes (no inner OCTET
# STRING, as AMD's KDS issues it).
vcek_ext() { # section bl tee snp ucode hwid
	cat >>ext.cnf <<EOC
[$1]
1.3.6.1.4.1.3704.1.1 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.2 = ASN1:IA5STRING:Genoa-B1
1.3.6.1.4.1.3704.1.3.1 = ASN1:INTEGER:$2
1.3.6.1.4.1.3704.1.3.2 = ASN1:INTEGER:$3
1.3.6.1.4.1.3704.1.3.3 = ASN1:INTEGER:$4
1.3.6.1.4.1.3704.1.3.4 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.3.5 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.3.6 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.3.7 = ASN1:INTEGER:0
1.3.6.1.4.1.3704.1.3.8 = ASN1:INTEGER:$5
1.3.6.1.4.1.3704.1.4 = DER:$6
subjectKeyIdentifier = none
authorityKeyIdentifier = none
EOC
}
vcek_ext vcek "$BL" "$TEE" "$SNP" "$UCODE" "$HWID"
vcek_ext vcek_low "$LBL" "$LTEE" "$LSNP" "$LUCODE" "$HWID"
vcek_ext vcek_stranger "$BL" "$TEE" "$SNP" "$UCODE" "$HWID_STRANGER"

# A minimal "openssl ca" database per issuing key: it lets us set explicit
# validity windows (expired certs) and generate CRLs with revoked serials.
ca_init() { # dir cert key
	mkdir -p "$1/new"
	: >"$1/index.txt"
	echo 1000 >"$1/serial"
	echo 01 >"$1/crlnumber"
	cat >"$1/ca.cnf" <<EOC
[ca]
default_ca = d
[d]
database = $1/index.txt
new_certs_dir = $1/new
serial = $1/serial
crlnumber = $1/crlnumber
certificate = $2
private_key = $3
default_md = sha384
policy = any
unique_subject = no
email_in_dn = no
default_crl_days = 3650
[any]
organizationalUnitName = optional
countryName = optional
localityName = optional
stateOrProvinceName = optional
organizationName = optional
commonName = supplied
EOC
}

rsa() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$1" 2>/dev/null; }
ec384() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$1" 2>/dev/null; }
ec256() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# issue CADIR SUBJ KEY OUT EXTSECT START END [extra openssl ca args...]
issue() {
	d=$1 subj=$2 key=$3 o=$4 sect=$5 start=$6 end=$7
	shift 7
	openssl req -new -key "$key" -subj "$subj" -out "$o.csr" 2>/dev/null
	# shellcheck disable=SC2086
	openssl ca -batch -notext -preserveDN -config "$d/ca.cnf" -in "$o.csr" \
		-out "$o" -startdate "$start" -enddate "$end" \
		-extfile ext.cnf -extensions "$sect" "$@" 2>/dev/null
	rm -f "$o.csr"
}

der() { openssl x509 -in "$1" -outform DER -out "$2"; }

# --- AMD-like vendor chain ------------------------------------------------
rsa ark.key
rsa ask.key
rsa foreign.key
ec384 vcek.key
# shellcheck disable=SC2086
openssl req -x509 -new -key ark.key -subj "$AMD/CN=ARK-Genoa" -set_serial 0x20000 \
	-days 9125 -sha384 $PSS -extensions ark -config ext.cnf -out ark.pem 2>/dev/null
ca_init "$PWD/arkdb" "$PWD/ark.pem" "$PWD/ark.key"
# shellcheck disable=SC2086
issue "$PWD/arkdb" "$AMD/CN=SEV-Genoa" ask.key ask.pem ask "$NOW_MINUS_DAY" 20501231000000Z -md sha384 $PSS
ca_init "$PWD/askdb" "$PWD/ask.pem" "$PWD/ask.key"
# shellcheck disable=SC2086
{
	issue "$PWD/askdb" "$AMD/CN=SEV-VCEK" vcek.key vcek.pem vcek "$NOW_MINUS_DAY" 20331231000000Z -md sha384 $PSS
	issue "$PWD/askdb" "$AMD/CN=SEV-VCEK" vcek.key vcek-expired.pem vcek 20200101000000Z 20210101000000Z -md sha384 $PSS
	issue "$PWD/askdb" "$AMD/CN=SEV-VCEK" vcek.key vcek-lowtcb.pem vcek_low "$NOW_MINUS_DAY" 20331231000000Z -md sha384 $PSS
	issue "$PWD/askdb" "$AMD/CN=SEV-VCEK" vcek.key vcek-stranger.pem vcek_stranger "$NOW_MINUS_DAY" 20331231000000Z -md sha384 $PSS
}

# Foreign key material: a CA with the real ASK's name but another key (the
# VCEK it signs has the right issuer DN and a wrong signature), and a fake
# ARK with the real ARK's name that signs a CRL.
# shellcheck disable=SC2086
openssl req -x509 -new -key foreign.key -subj "$AMD/CN=SEV-Genoa" -set_serial 0x20002 \
	-days 9125 -sha384 $PSS -extensions ask -config ext.cnf -out foreign-ask.pem 2>/dev/null
ca_init "$PWD/foreignaskdb" "$PWD/foreign-ask.pem" "$PWD/foreign.key"
# shellcheck disable=SC2086
issue "$PWD/foreignaskdb" "$AMD/CN=SEV-VCEK" vcek.key vcek-foreign.pem vcek "$NOW_MINUS_DAY" 20331231000000Z -md sha384 $PSS
# shellcheck disable=SC2086
openssl req -x509 -new -key foreign.key -subj "$AMD/CN=ARK-Genoa" -set_serial 0x20000 \
	-days 9125 -sha384 $PSS -extensions ark -config ext.cnf -out fake-ark.pem 2>/dev/null
ca_init "$PWD/fakearkdb" "$PWD/fake-ark.pem" "$PWD/foreign.key"

# CRLs, all "issued by ARK-Genoa": clean, ASK revoked, signed by a foreign key.
# shellcheck disable=SC2086
openssl ca -batch -config arkdb/ca.cnf -gencrl -md sha384 $PSS -out crl.pem 2>/dev/null
cp -r arkdb arkdb-revoked
sed -i "s#$PWD/arkdb#$PWD/arkdb-revoked#" arkdb-revoked/ca.cnf
openssl ca -batch -config arkdb-revoked/ca.cnf -revoke ask.pem -crl_reason keyCompromise 2>/dev/null
# shellcheck disable=SC2086
openssl ca -batch -config arkdb-revoked/ca.cnf -gencrl -md sha384 $PSS -out crl-ask-revoked.pem 2>/dev/null
# shellcheck disable=SC2086
openssl ca -batch -config fakearkdb/ca.cnf -gencrl -md sha384 $PSS -out crl-wrong-key.pem 2>/dev/null
for c in crl crl-ask-revoked crl-wrong-key; do
	openssl crl -in "$c.pem" -outform DER -out "$c.der"
done

for c in ark ask vcek vcek-expired vcek-lowtcb vcek-stranger vcek-foreign foreign-ask; do
	der "$c.pem" "$c.der"
done
# KDS cert_chain format: ASK then ARK.
cat ask.pem ark.pem >cert_chain.pem
# Trust anchors a client is configured with (per product line).
cp ark.pem genoa-ark.pem
cp ask.pem genoa-ask.pem

# --- Intel-like TDX PKI (P-256, ECDSA with SHA-256, Intel's names) ---------
# SGX root -> PCK platform CA -> PCK leaf (with the SGX extension), SGX root
# -> TCB signing certificate; the root's and the platform CA's CRLs (fresh,
# stale, and one revoking the PCK leaf); a foreign key for bad signatures.
INTEL="/O=Intel Corporation/L=Santa Clara/ST=CA/C=US"
ROOTCRLDP="URI:https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"
cat >>ext.cnf <<EOC
[intel_root]
basicConstraints = critical, CA:TRUE, pathlen:1
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
crlDistributionPoints = $ROOTCRLDP
[intel_pca]
authorityKeyIdentifier = keyid
crlDistributionPoints = $ROOTCRLDP
subjectKeyIdentifier = hash
keyUsage = critical, keyCertSign, cRLSign
basicConstraints = critical, CA:TRUE, pathlen:0
[intel_signing]
authorityKeyIdentifier = keyid
crlDistributionPoints = $ROOTCRLDP
subjectKeyIdentifier = hash
keyUsage = critical, digitalSignature, nonRepudiation
basicConstraints = critical, CA:FALSE
[intel_pck]
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:https://api.trustedservices.intel.com/sgx/certification/v4/pckcrl?ca=platform&encoding=der
subjectKeyIdentifier = hash
keyUsage = critical, digitalSignature, nonRepudiation
basicConstraints = critical, CA:FALSE
1.2.840.113741.1.13.1 = DER:$SGX_EXT
EOC
for k in intel-root intel-pca intel-pck intel-signing intel-foreign; do ec256 "$k.key"; done
openssl req -x509 -new -key intel-root.key -subj "/CN=Intel SGX Root CA$INTEL" \
	-set_serial 0x30000 -days 9125 -sha256 -extensions intel_root -config ext.cnf \
	-out intel-root.pem 2>/dev/null
ca_init "$PWD/intelrootdb" "$PWD/intel-root.pem" "$PWD/intel-root.key"
issue "$PWD/intelrootdb" "/CN=Intel SGX PCK Platform CA$INTEL" intel-pca.key intel-pca.pem \
	intel_pca "$NOW_MINUS_DAY" 20401231000000Z -md sha256
issue "$PWD/intelrootdb" "/CN=Intel SGX TCB Signing$INTEL" intel-signing.key intel-signing.pem \
	intel_signing "$NOW_MINUS_DAY" 20351231000000Z -md sha256
ca_init "$PWD/intelpcadb" "$PWD/intel-pca.pem" "$PWD/intel-pca.key"
issue "$PWD/intelpcadb" "/CN=Intel SGX PCK Certificate$INTEL" intel-pck.key intel-pck.pem \
	intel_pck "$NOW_MINUS_DAY" 20351231000000Z -md sha256
openssl ca -batch -config intelrootdb/ca.cnf -gencrl -md sha256 -out intel-rootcrl.pem 2>/dev/null
openssl ca -batch -config intelpcadb/ca.cnf -gencrl -md sha256 -out intel-pckcrl.pem 2>/dev/null
openssl ca -batch -config intelpcadb/ca.cnf -gencrl -md sha256 \
	-crl_lastupdate 20200101000000Z -crl_nextupdate 20200201000000Z \
	-out intel-pckcrl-stale.pem 2>/dev/null
cp -r intelpcadb intelpcadb-revoked
sed -i "s#$PWD/intelpcadb#$PWD/intelpcadb-revoked#" intelpcadb-revoked/ca.cnf
openssl ca -batch -config intelpcadb-revoked/ca.cnf -revoke intel-pck.pem -crl_reason keyCompromise 2>/dev/null
openssl ca -batch -config intelpcadb-revoked/ca.cnf -gencrl -md sha256 -out intel-pckcrl-revoked.pem 2>/dev/null
for c in intel-rootcrl intel-pckcrl intel-pckcrl-stale intel-pckcrl-revoked; do
	openssl crl -in "$c.pem" -outform DER -out "$c.der"
done

# --- Contrast-like Coordinator CAs and the secret-service mesh leaf --------
ec384 root-ca.key
ec384 mesh-ca.key
ec384 mesh-leaf.key
ec384 rogue-mesh-ca.key
openssl req -x509 -new -key root-ca.key -subj "/O=Contrast/CN=system:coordinator:root" \
	-days 3650 -sha384 -extensions ca_ec -config ext.cnf -out root-ca.pem 2>/dev/null
openssl req -x509 -new -key mesh-ca.key -subj "/O=Contrast/CN=system:coordinator:meshCA" \
	-days 3650 -sha384 -extensions ca_ec -config ext.cnf -out mesh-ca.pem 2>/dev/null
# Same name as the real mesh CA, different key: its leaves must be refused.
openssl req -x509 -new -key rogue-mesh-ca.key -subj "/O=Contrast/CN=system:coordinator:meshCA" \
	-days 3650 -sha384 -extensions ca_ec -config ext.cnf -out rogue-mesh-ca.pem 2>/dev/null
ca_init "$PWD/meshdb" "$PWD/mesh-ca.pem" "$PWD/mesh-ca.key"
ca_init "$PWD/roguedb" "$PWD/rogue-mesh-ca.pem" "$PWD/rogue-mesh-ca.key"
issue "$PWD/meshdb" "/O=Contrast/CN=secret-service" mesh-leaf.key mesh-leaf.pem mesh_leaf "$NOW_MINUS_DAY" 20351231000000Z -md sha384
issue "$PWD/roguedb" "/O=Contrast/CN=secret-service" mesh-leaf.key mesh-leaf-rogue.pem mesh_leaf "$NOW_MINUS_DAY" 20351231000000Z -md sha384
der mesh-leaf.pem mesh-leaf.der
der mesh-leaf-rogue.pem mesh-leaf-rogue.der

# --- TLS for the simulated API endpoint ------------------------------------
ec256 tls-ca.key
ec256 tls-server.key
openssl req -x509 -new -key tls-ca.key -subj "/O=privatemoded tests/CN=privatemoded-sim test CA" \
	-days 3650 -sha256 -extensions ca_ec -config ext.cnf -out tls-ca.pem 2>/dev/null
ca_init "$PWD/tlsdb" "$PWD/tls-ca.pem" "$PWD/tls-ca.key"
issue "$PWD/tlsdb" "/O=privatemoded tests/CN=localhost" tls-server.key tls-server.pem tls_server "$NOW_MINUS_DAY" 20351231000000Z -md sha256

rm -rf arkdb arkdb-revoked askdb foreignaskdb fakearkdb meshdb roguedb tlsdb \
	intelrootdb intelpcadb intelpcadb-revoked
chmod 600 ./*.key
echo "$PKI_VERSION" >.complete
cd ..
rm -rf "$out"
mv "$out.tmp" "$out"
