// Certificates for the probe's TLS tests, made by the openssl command line at test time in a temporary
// folder (no private key is committed): a root CA, an intermediate, and leaves with chosen names,
// dates and key usages. Every certificate goes through `openssl ca` with -startdate/-enddate, so its
// dates are exact constants the tests can assert (OpenSSL 3.0's `x509`/`req` cannot set past dates).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A key and its certificate, PEM. */
export interface Issued {
  key: string;
  cert: string;
}

export interface LeafSpec {
  cn: string;
  /** subjectAltName in openssl's syntax, e.g. "IP:127.0.0.1, DNS:localhost". */
  san: string;
  /** YYYYMMDDHHMMSSZ */
  from: string;
  to: string;
  /** extendedKeyUsage; serverAuth unless said. */
  eku?: string;
}

// A config of our own, so nothing depends on the system's openssl.cnf.
const CONFIG = `
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = .
database = $dir/index.txt
new_certs_dir = $dir/issued
serial = $dir/serial
default_md = sha256
policy = any_name
unique_subject = no
copy_extensions = none
email_in_dn = no
[ any_name ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ leaf ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = $ENV::EKU
subjectAltName = $ENV::SAN
`;

export class TestCa {
  readonly dir: string;
  private n = 0;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(join(dir, 'issued'), { recursive: true });
    writeFileSync(join(dir, 'openssl.cnf'), CONFIG);
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), '1000\n');
  }

  private openssl(args: string[], env: Record<string, string> = {}): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000, env: { ...process.env, SAN: 'DNS:unused', EKU: 'serverAuth', ...env } });
  }

  /** A fresh P-256 key and a request for `cn`; returns the file stem. */
  private request(cn: string): string {
    const stem = `c${++this.n}`;
    this.openssl(['req', '-new', '-config', 'openssl.cnf', '-subj', `/CN=${cn}`, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${stem}.key`, '-out', `${stem}.csr`]);
    return stem;
  }

  private read(stem: string): Issued {
    return { key: readFileSync(join(this.dir, `${stem}.key`), 'utf8'), cert: readFileSync(join(this.dir, `${stem}.pem`), 'utf8') };
  }

  /** A self-signed certificate: a root CA (`ca` true) or a server's own. */
  selfSigned(cn: string, from: string, to: string, opts: { ca: boolean; san?: string }): Issued {
    const stem = this.request(cn);
    this.openssl(
      ['ca', '-batch', '-config', 'openssl.cnf', '-selfsign', '-keyfile', `${stem}.key`, '-in', `${stem}.csr`, '-out', `${stem}.pem`, '-notext',
        '-extensions', opts.ca ? 'v3_ca' : 'leaf', '-startdate', from, '-enddate', to],
      opts.san ? { SAN: opts.san } : {},
    );
    return this.read(stem);
  }

  /** A certificate for `leaf` (or an intermediate CA when `leaf.eku` is 'ca') signed by `issuer`. */
  sign(issuer: Issued, leaf: LeafSpec): Issued {
    const stem = this.request(leaf.cn);
    writeFileSync(join(this.dir, `${stem}.issuer.key`), issuer.key);
    writeFileSync(join(this.dir, `${stem}.issuer.pem`), issuer.cert);
    const isCa = leaf.eku === 'ca';
    this.openssl(
      ['ca', '-batch', '-config', 'openssl.cnf', '-cert', `${stem}.issuer.pem`, '-keyfile', `${stem}.issuer.key`, '-in', `${stem}.csr`, '-out', `${stem}.pem`, '-notext',
        '-extensions', isCa ? 'v3_ca' : 'leaf', '-startdate', leaf.from, '-enddate', leaf.to],
      { SAN: leaf.san, EKU: isCa ? 'serverAuth' : (leaf.eku ?? 'serverAuth') },
    );
    return this.read(stem);
  }
}

/** True when the openssl command line can be run here. */
export function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** An epoch ms as `openssl ca -startdate/-enddate` takes it (YYYYMMDDHHMMSSZ, to the second), for dates relative to now. */
export function caDate(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}
