#!/usr/bin/env bash
# Makes the TLS scenarios' keys and certificates with openssl, in DIR (a temp folder of the test):
#   ca.pem               a throwaway CA (given to preflight as NODE_EXTRA_CA_CERTS, so a good
#                        certificate from it passes the probe)
#   good.{pem,key}       CN=diag-tls, SAN IP:127.0.0.1, valid from yesterday for 30 days
#   expired.{pem,key}    the same name, valid 2020-01-01T00:00:00Z .. 2020-02-01T00:00:00Z
#   wronghost.{pem,key}  CN=example.invalid, SAN DNS:example.invalid, valid now
# All three are issued by ca.pem (`openssl ca`: it alone can date a certificate in the past).
#   make-certs.sh DIR
set -euo pipefail
dir=${1:?usage: make-certs.sh DIR}
cd "$dir"
mkdir -p ca/new
: > ca/index.txt
echo 1000 > ca/serial
cat > ca/openssl.cnf <<'CNF'
[ca]
default_ca = corpus
[corpus]
dir = ./ca
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir/new
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = copy
[anything]
commonName = supplied
[req]
distinguished_name = dn
prompt = no
[dn]
CN = diag-corpus-ca
[ca_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
CNF
q() { "$@" >/dev/null 2>&1 || { echo "make-certs.sh: failed: $*" >&2; "$@" >&2; exit 1; }; }
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 3650 -config ca/openssl.cnf -extensions ca_ext
issue() { # name CN SAN startdate enddate
  q openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" -addext "subjectAltName=$3"
  q openssl ca -batch -config ca/openssl.cnf -cert ca.pem -keyfile ca.key -in "$1.csr" -out "$1.pem" -notext -startdate "$4" -enddate "$5"
  rm -f "$1.csr"
}
yesterday=$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)
month=$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)
issue good diag-tls IP:127.0.0.1 "$yesterday" "$month"
issue expired diag-tls IP:127.0.0.1 20200101000000Z 20200201000000Z
issue wronghost example.invalid DNS:example.invalid "$yesterday" "$month"
chmod 644 ./*.pem ./*.key
