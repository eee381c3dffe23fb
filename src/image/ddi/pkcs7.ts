// PKCS#7 detached signatures of a root hash: written as `openssl smime -sign -noattr -binary` does, read and verified.
import { createHash, sign, verify, X509Certificate, type KeyObject } from "node:crypto";
import {
  children,
  ctx,
  DerError,
  expectTag,
  int,
  nul,
  octets,
  oid,
  oidString,
  readOne,
  seq,
  set,
  type Tlv,
} from "./der.js";

const OID = {
  signedData: "1.2.840.113549.1.7.2",
  data: "1.2.840.113549.1.7.1",
  sha256: "2.16.840.1.101.3.4.2.1",
  sha384: "2.16.840.1.101.3.4.2.2",
  sha512: "2.16.840.1.101.3.4.2.3",
  rsaEncryption: "1.2.840.113549.1.1.1",
  ecdsaSha256: "1.2.840.10045.4.3.2",
  messageDigest: "1.2.840.113549.1.9.4",
} as const;

const DIGESTS: Readonly<Record<string, string>> = {
  [OID.sha256]: "sha256",
  [OID.sha384]: "sha384",
  [OID.sha512]: "sha512",
};

/** The DER of a certificate's issuer Name and serialNumber INTEGER (for IssuerAndSerialNumber). */
export function issuerAndSerial(certDer: Buffer): { issuer: Buffer; serial: Buffer } {
  const cert = expectTag(readOne(certDer), 0x30, "certificate");
  const tbs = expectTag(children(cert.content)[0], 0x30, "TBSCertificate");
  const f = children(tbs.content);
  const i = f[0]?.tag === 0xa0 ? 1 : 0; // optional [0] version
  return {
    serial: expectTag(f[i], 0x02, "serialNumber").raw,
    issuer: expectTag(f[i + 2], 0x30, "issuer").raw,
  };
}

/**
 * SignedData over `content` (detached, no signed attributes, the signer's certificate included, SHA-256):
 * for an RSA key byte for byte what OpenSSL's PKCS7_sign(PKCS7_DETACHED|PKCS7_NOATTR|PKCS7_BINARY) gives,
 * which is what systemd-repart writes. ECDSA keys work too (their signatures are randomized).
 */
export function signDetached(content: Buffer, key: KeyObject, cert: X509Certificate): Buffer {
  const { issuer, serial } = issuerAndSerial(cert.raw);
  const type = key.asymmetricKeyType;
  let sigAlg: Buffer;
  if (type === "rsa") sigAlg = seq(oid(OID.rsaEncryption), nul());
  else if (type === "ec") sigAlg = seq(oid(OID.ecdsaSha256));
  else throw new Error(`${type ?? "this"} keys cannot sign PKCS#7 root hash signatures; use RSA or ECDSA`);
  const signature = sign("sha256", content, key);
  const sha256 = seq(oid(OID.sha256), nul());
  const signerInfo = seq(int(1), seq(issuer, serial), sha256, sigAlg, octets(signature));
  const signedData = seq(int(1), set(sha256), seq(oid(OID.data)), ctx(0, cert.raw), set(signerInfo));
  return seq(oid(OID.signedData), ctx(0, signedData));
}

export interface Pkcs7Signer {
  readonly issuer: Buffer;
  readonly serial: Buffer;
  readonly digest: string;
  /** The signed attributes as stored ([0] IMPLICIT), if any. */
  readonly signedAttrs: Tlv | undefined;
  readonly signature: Buffer;
}

export interface Pkcs7 {
  readonly certificates: readonly X509Certificate[];
  readonly signers: readonly Pkcs7Signer[];
  /** Whether the content is inside the structure (it must not be: a root hash signature is detached). */
  readonly attached: boolean;
}

/** Parse DER PKCS#7 SignedData; throws DerError (or a plain Error) when it is not one. */
export function parsePkcs7(der: Buffer): Pkcs7 {
  const ci = children(expectTag(readOne(der), 0x30, "ContentInfo").content);
  const type = expectTag(ci[0], 0x06, "contentType");
  if (oidString(type.content) !== OID.signedData) throw new DerError("not PKCS#7 signed data");
  const sd = children(
    expectTag(children(expectTag(ci[1], 0xa0, "content").content)[0], 0x30, "SignedData").content,
  );
  const encap = children(expectTag(sd[2], 0x30, "contentInfo").content);
  let i = 3;
  const certificates: X509Certificate[] = [];
  if (sd[i]?.tag === 0xa0) {
    for (const c of children(sd[i]!.content))
      if (c.tag === 0x30) certificates.push(new X509Certificate(c.raw));
    i++;
  }
  if (sd[i]?.tag === 0xa1) i++; // CRLs
  const signers = children(expectTag(sd[i], 0x31, "signerInfos").content).map((s): Pkcs7Signer => {
    const f = children(expectTag(s, 0x30, "SignerInfo").content);
    const ias = children(expectTag(f[1], 0x30, "issuerAndSerialNumber").content);
    const digestOid = oidString(
      expectTag(children(expectTag(f[2], 0x30, "digestAlgorithm").content)[0], 0x06, "digest OID").content,
    );
    let j = 3;
    let signedAttrs: Tlv | undefined;
    if (f[j]?.tag === 0xa0) signedAttrs = f[j++];
    j++; // digestEncryptionAlgorithm: the key decides how the signature is checked
    return {
      issuer: expectTag(ias[0], 0x30, "issuer").raw,
      serial: expectTag(ias[1], 0x02, "serial").raw,
      digest: DIGESTS[digestOid] ?? `unsupported digest ${digestOid}`,
      signedAttrs,
      signature: expectTag(f[j], 0x04, "signature").content,
    };
  });
  return { certificates, signers, attached: encap.length > 1 };
}

export type Pkcs7Verdict =
  | { readonly ok: true; readonly certificate: X509Certificate }
  | { readonly ok: false; readonly reason: string };

/** The trusted certificate `leaf` is, or one that issued it (one level of chain, as with a CA in verity.d). */
function trustedFor(leaf: X509Certificate, trusted: readonly X509Certificate[]): X509Certificate | undefined {
  return (
    trusted.find((t) => t.raw.equals(leaf.raw)) ??
    trusted.find((t) => leaf.checkIssued(t) && leaf.verify(t.publicKey))
  );
}

/**
 * Check a detached PKCS#7 signature of `content` against `trusted` certificates, as the kernel and
 * systemd (OpenSSL's PKCS7_verify) do: the signer's certificate is the one the structure carries for the
 * signer's issuer and serial number, and it must be a trusted certificate or issued by one. Signed
 * attributes are honoured (their messageDigest must match). Validity dates are not checked here.
 */
export function verifyDetached(
  der: Buffer,
  content: Buffer,
  trusted: readonly X509Certificate[],
): Pkcs7Verdict {
  let p: Pkcs7;
  try {
    p = parsePkcs7(der);
  } catch (e) {
    return { ok: false, reason: `not a DER PKCS#7 signature (${(e as Error).message})` };
  }
  if (p.attached)
    return {
      ok: false,
      reason: "the PKCS#7 signature carries its content; root hash signatures are detached",
    };
  if (p.signers.length === 0) return { ok: false, reason: "the PKCS#7 structure holds no signature" };
  let reason = "";
  for (const s of p.signers) {
    const matches = (c: X509Certificate) => {
      const ids = issuerAndSerial(c.raw);
      return ids.issuer.equals(s.issuer) && ids.serial.equals(s.serial);
    };
    const carried = p.certificates.find(matches);
    let cert: X509Certificate | undefined;
    if (carried) {
      cert = trustedFor(carried, trusted) ? carried : undefined;
      if (!cert)
        reason = `signed by ${carried.subject.replace(/\n/g, ", ")}, which is not a trusted certificate`;
    } else if (p.certificates.length > 0) {
      reason = "the signature carries no certificate for its signer (damaged, or signed by another key)";
    } else {
      cert = trusted.find(matches);
      if (!cert) reason = "signed by a certificate that is not the trusted one (issuer/serial differ)";
    }
    if (!cert) continue;
    if (s.digest.startsWith("unsupported")) {
      reason = s.digest;
      continue;
    }
    let signed = content;
    if (s.signedAttrs) {
      const md = messageDigestAttr(s.signedAttrs);
      if (!md || !md.equals(createHash(s.digest).update(content).digest())) {
        reason = "the signed attributes' message digest does not match the content";
        continue;
      }
      signed = Buffer.concat([Buffer.from([0x31]), s.signedAttrs.raw.subarray(1)]);
    }
    try {
      if (verify(s.digest, signed, cert.publicKey, s.signature)) return { ok: true, certificate: cert };
      reason = "the signature does not match the content and certificate";
    } catch (e) {
      reason = `the signature cannot be checked (${(e as Error).message})`;
    }
  }
  return { ok: false, reason };
}

function messageDigestAttr(attrs: Tlv): Buffer | undefined {
  for (const a of children(attrs.content)) {
    const f = children(a.content);
    if (f[0] && oidString(f[0].content) === OID.messageDigest && f[1]) {
      const v = children(f[1].content)[0];
      if (v?.tag === 0x04) return v.content;
    }
  }
  return undefined;
}

/** Accept a signature file as DER or PEM ("-----BEGIN PKCS7-----" / "CMS"). */
export function pkcs7FromFile(data: Buffer): Buffer {
  const text = data.subarray(0, 64).toString("latin1");
  if (!text.includes("-----BEGIN ")) return data;
  const m = /-----BEGIN (PKCS7|CMS)-----([\s\S]*?)-----END \1-----/.exec(data.toString("latin1"));
  if (!m) throw new DerError("PEM text without a PKCS7 or CMS block");
  return Buffer.from(m[2]!.replace(/\s+/g, ""), "base64");
}
