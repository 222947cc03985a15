//! Content digests (`algorithm:hex`) as the OCI image spec defines them, and streaming hashers.
//!
//! A digest is validated before it is ever used to build a path (containers/image
//! CVE-2024-3727): only the two registered algorithms, the exact hex length, lowercase hex only.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use sha2::{Digest as _, Sha256, Sha512};

/// A hash algorithm a digest may use. Only the two registered by the OCI image spec are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// `sha256`: 64 lowercase hex characters.
    Sha256,
    /// `sha512`: 128 lowercase hex characters.
    Sha512,
}

impl Algorithm {
    /// The name used in digest strings and blob directories.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Number of hex characters of an encoded digest of this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

/// Why a digest string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// No `:` between algorithm and hex.
    #[error("digest {0:?} has no ':' between algorithm and hex (expected e.g. sha256:<64 hex>)")]
    MissingSeparator(String),
    /// An algorithm other than sha256/sha512.
    #[error("digest {input:?} uses unsupported algorithm {algorithm:?} (use sha256 or sha512)")]
    UnsupportedAlgorithm {
        /// The whole digest string.
        input: String,
        /// The algorithm part.
        algorithm: String,
    },
    /// Wrong number of hex characters for the algorithm.
    #[error("digest {input:?} has {actual} hex characters, {algorithm} needs {expected}")]
    BadLength {
        /// The whole digest string.
        input: String,
        /// The algorithm name.
        algorithm: &'static str,
        /// Required length.
        expected: usize,
        /// Length found.
        actual: usize,
    },
    /// A character that is not lowercase hex.
    #[error("digest {0:?} contains characters other than lowercase hex [0-9a-f]")]
    BadHex(String),
}

impl DigestError {
    /// The refused digest string.
    pub fn input(&self) -> &str {
        match self {
            DigestError::MissingSeparator(s) | DigestError::BadHex(s) => s,
            DigestError::UnsupportedAlgorithm { input, .. }
            | DigestError::BadLength { input, .. } => input,
        }
    }

    /// A short, fixed description of what is wrong (without the input).
    pub fn reason(&self) -> &'static str {
        match self {
            DigestError::MissingSeparator(_) => "missing ':'",
            DigestError::UnsupportedAlgorithm { .. } => "algorithm must be sha256 or sha512",
            DigestError::BadLength { .. } => "wrong hex length for the algorithm",
            DigestError::BadHex(_) => "encoded part must be lowercase hex",
        }
    }
}

/// A validated content digest such as `sha256:e3b0…`: safe to use as a file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Parses and validates `algorithm:hex` (lowercase hex of the algorithm's exact length).
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        let (alg, hex) = s
            .split_once(':')
            .ok_or_else(|| DigestError::MissingSeparator(s.to_string()))?;
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            other => {
                return Err(DigestError::UnsupportedAlgorithm {
                    input: s.to_string(),
                    algorithm: other.to_string(),
                })
            }
        };
        if hex.len() != algorithm.hex_len() {
            return Err(DigestError::BadLength {
                input: s.to_string(),
                algorithm: algorithm.name(),
                expected: algorithm.hex_len(),
                actual: hex.len(),
            });
        }
        if !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DigestError::BadHex(s.to_string()));
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_string(),
        })
    }

    /// The sha256 digest of `data`.
    pub fn sha256_of(data: &[u8]) -> Digest {
        Digest::compute(Algorithm::Sha256, data)
    }

    /// The digest of `data` computed with `algorithm`.
    pub fn compute(algorithm: Algorithm, data: &[u8]) -> Digest {
        let mut v = Verifier::new(algorithm);
        v.update(data);
        v.finish()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The encoded (lowercase hex) part, safe to use as a single path component.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Clone)]
enum State {
    Sha256(Sha256),
    Sha512(Sha512),
}

/// Hashes bytes incrementally and counts them; [`Verifier::finish`] yields the digest.
#[derive(Clone)]
pub struct Verifier {
    state: State,
    len: u64,
}

impl Verifier {
    /// A fresh verifier for `algorithm`.
    pub fn new(algorithm: Algorithm) -> Verifier {
        let state = match algorithm {
            Algorithm::Sha256 => State::Sha256(Sha256::new()),
            Algorithm::Sha512 => State::Sha512(Sha512::new()),
        };
        Verifier { state, len: 0 }
    }

    /// The algorithm this verifier hashes with.
    pub fn algorithm(&self) -> Algorithm {
        match self.state {
            State::Sha256(_) => Algorithm::Sha256,
            State::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.len += data.len() as u64;
        match &mut self.state {
            State::Sha256(h) => h.update(data),
            State::Sha512(h) => h.update(data),
        }
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing was fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Digest {
        let (algorithm, bytes): (Algorithm, Vec<u8>) = match self.state {
            State::Sha256(h) => (Algorithm::Sha256, h.finalize().to_vec()),
            State::Sha512(h) => (Algorithm::Sha512, h.finalize().to_vec()),
        };
        Digest {
            algorithm,
            hex: to_hex(&bytes),
        }
    }
}

/// Lowercase hex encoding.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0xf)] as char);
    }
    s
}

/// A reader that hashes and counts everything read through it.
pub struct DigestingReader<R> {
    inner: R,
    verifier: Verifier,
}

impl<R: Read> DigestingReader<R> {
    /// Wraps `inner`, hashing with `algorithm`.
    pub fn new(inner: R, algorithm: Algorithm) -> Self {
        DigestingReader {
            inner,
            verifier: Verifier::new(algorithm),
        }
    }

    /// Bytes read so far.
    pub fn count(&self) -> u64 {
        self.verifier.len()
    }

    /// Reads the rest of the stream (so the digest covers all of it) and returns digest and size.
    pub fn finish(mut self) -> io::Result<(Digest, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        let len = self.verifier.len();
        Ok((self.verifier.finish(), len))
    }
}

impl<R: Read> Read for DigestingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.verifier.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn empty_sha256() {
        assert_eq!(Digest::sha256_of(b"").to_string(), EMPTY);
        assert_eq!(Digest::parse(EMPTY).unwrap(), Digest::sha256_of(b""));
    }

    #[test]
    fn sha512_length() {
        let d = Digest::compute(Algorithm::Sha512, b"abc");
        assert_eq!(d.hex().len(), 128);
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
    }

    #[test]
    fn accepts_valid_and_refuses_traversal() {
        let ok = format!("sha256:{}", "a".repeat(64));
        assert_eq!(Digest::parse(&ok).unwrap().to_string(), ok);
        for bad in [
            "sha256:../../etc",
            "sha256:",
            "md5:abcd",
            &format!("sha256:{}", "A".repeat(64)),
            &format!("sha256:{}", "a".repeat(63)),
            &format!("sha256:{}/", "a".repeat(63)),
            &format!("sha512:{}", "a".repeat(64)),
            "sha256",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn refuses_bad_digests_with_the_right_error() {
        assert!(matches!(
            Digest::parse("sha256"),
            Err(DigestError::MissingSeparator(_))
        ));
        assert!(matches!(
            Digest::parse("md5:abcd"),
            Err(DigestError::UnsupportedAlgorithm { .. })
        ));
        assert!(matches!(
            Digest::parse("sha256:abc"),
            Err(DigestError::BadLength { .. })
        ));
        let upper = EMPTY.to_uppercase().replace("SHA256", "sha256");
        assert!(matches!(Digest::parse(&upper), Err(DigestError::BadHex(_))));
        let sixty_five = format!("{EMPTY}0");
        assert!(matches!(
            Digest::parse(&sixty_five),
            Err(DigestError::BadLength { .. })
        ));
        let e = Digest::parse("md5:abcd").unwrap_err();
        assert_eq!(e.input(), "md5:abcd");
        assert_eq!(e.reason(), "algorithm must be sha256 or sha512");
    }

    #[test]
    fn verifier_counts_bytes() {
        let mut v = Verifier::new(Algorithm::Sha256);
        assert!(v.is_empty());
        v.update(b"ab");
        v.update(b"c");
        assert_eq!(v.len(), 3);
        assert_eq!(v.algorithm(), Algorithm::Sha256);
        assert_eq!(v.finish(), Digest::sha256_of(b"abc"));
    }

    #[test]
    fn digesting_reader_covers_the_whole_stream() {
        let mut r = DigestingReader::new(&b"abcdef"[..], Algorithm::Sha256);
        let mut first = [0u8; 2];
        r.read_exact(&mut first).unwrap();
        assert_eq!(r.count(), 2);
        let (d, n) = r.finish().unwrap();
        assert_eq!(n, 6);
        assert_eq!(d, Digest::sha256_of(b"abcdef"));
    }

    #[test]
    fn deserialize_validates() {
        use serde::de::value::{Error, StrDeserializer};
        use serde::de::IntoDeserializer;
        let de = |s: &'static str| -> Result<Digest, Error> {
            let de: StrDeserializer<'_, Error> = s.into_deserializer();
            serde::Deserialize::deserialize(de)
        };
        assert_eq!(de(EMPTY).unwrap().to_string(), EMPTY);
        assert!(de("sha256:../../etc/passwd").is_err());
    }
}
