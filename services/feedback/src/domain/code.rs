//! Follow-up codes of anonymous submissions: 125 random bits from the
//! operating system's generator, written as 25 Crockford base-32 characters
//! in groups of five (`7KQ2M-…`). Only a SHA-256 hash is stored, so the
//! database cannot hand a code out; guessing one among 2^125 is hopeless, so
//! the `…ByCode` methods need no rate limit of their own beyond the
//! gateway's.

use rand::TryRngCore;
use sha2::{Digest, Sha256};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LEN: usize = 25;
const GROUP: usize = 5;

/// A new code as shown to the submitter.
pub fn generate() -> String {
    let mut bytes = [0u8; 16];
    // The OS generator failing means the machine cannot make secrets at all.
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random generator works");
    let mut bits = u128::from_le_bytes(bytes);
    let mut out = String::with_capacity(LEN + LEN / GROUP);
    for i in 0..LEN {
        if i > 0 && i % GROUP == 0 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[(bits & 31) as usize]));
        bits >>= 5;
    }
    out
}

/// The canonical form of what a submitter typed: case, spaces and dashes
/// ignored, the look-alikes O, I and L read as 0, 1 and 1. `None` when it
/// cannot be a code.
pub fn normalize(input: &str) -> Option<String> {
    let mut out = String::with_capacity(LEN);
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
        if out.len() > LEN {
            return None;
        }
    }
    (out.len() == LEN).then_some(out)
}

/// The stored hash of a normalized code.
pub fn hash(normalized: &str) -> String {
    let digest = Sha256::digest(format!("concord-feedback-code:{normalized}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The stored key of an anonymous submission's `request_id`: the caller and
/// the request id hashed together, so a retry is recognised while the table
/// names nobody.
pub fn request_key(caller: &str, request_id: &str) -> String {
    let digest =
        Sha256::digest(format!("concord-feedback-request:{caller}\u{0}{request_id}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_grouped_and_distinct() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), 29);
        assert_eq!(a.matches('-').count(), 4);
        assert_eq!(normalize(&a).map(|n| n.len()), Some(25));
    }

    #[test]
    fn typing_variants_normalize_to_the_same_hash() {
        let code = generate();
        let sloppy = code.to_lowercase().replace('-', " ");
        assert_eq!(
            hash(&normalize(&code).unwrap()),
            hash(&normalize(&sloppy).unwrap())
        );
        assert_eq!(
            normalize("ooooo-iiiii-lllll-00000-11111").as_deref(),
            Some("0000011111111110000011111")
        );
        assert_eq!(normalize("short"), None);
        assert_eq!(normalize("UUUUU-UUUUU-UUUUU-UUUUU-UUUUU"), None);
        assert_eq!(normalize("匿名匿名匿名"), None);
        assert_eq!(normalize(&format!("{code}0")), None);
    }

    #[test]
    fn hashes_hide_their_input() {
        let h = hash("0000011111111110000011111");
        assert_eq!(h.len(), 64);
        assert!(!h.contains("00000111"));
        assert_ne!(request_key("p1", "r1"), request_key("p2", "r1"));
    }
}
