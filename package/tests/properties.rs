//! Property tests (proptest) of what the registry crate parses from untrusted input:
//! the manifest, topic patterns and the package reader. `fuzz/` has cargo-fuzz
//! targets for the same functions, for longer runs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use ed25519_dalek::SigningKey;
use hearth_package::{Manifest, Package, PackageError, topic};
use proptest::prelude::*;

fn label() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,8}"
}

fn token() -> impl Strategy<Value = String> {
    "[a-z0-9-]{1,6}"
}

/// A valid manifest from its parts.
fn manifest() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(label(), 2..4),
        (0u64..50, 0u64..50, 0u64..50),
        label(),
        proptest::collection::vec(proptest::collection::vec(token(), 1..4), 0..4),
        proptest::bool::ANY,
        proptest::option::of(1u32..=4096),
    )
        .prop_map(|(id, (major, minor, patch), publisher, topics, kv, memory)| {
            let topics: Vec<String> = topics.iter().map(|tokens| format!("\"{}\"", tokens.join("."))).collect();
            let memory = memory.map(|mb| format!("[limits]\nmemory_mb = {mb}\n")).unwrap_or_default();
            format!(
                "[plugin]\nid = \"{}\"\nversion = \"{major}.{minor}.{patch}\"\npublisher = \"{publisher}\"\napi = \"0.2\"\n\
                 [subscriptions]\ntopics = [{}]\n[capabilities]\nkv = {kv}\n{memory}",
                id.join("."),
                topics.join(", ")
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_manifest_parser_never_panics(text in "\\PC{0,400}") {
        let _ = text.parse::<Manifest>();
    }

    #[test]
    fn valid_manifests_parse_and_round_trip(text in manifest()) {
        let parsed: Manifest = text.parse().unwrap();
        let again: Manifest = parsed.to_toml().parse().unwrap();
        prop_assert_eq!(again, parsed);
    }

    #[test]
    fn a_topic_matches_itself_and_wildcards_cover_their_tokens(tokens in proptest::collection::vec(token(), 1..6), at in 0usize..6) {
        let topic = tokens.join(".");
        prop_assert!(topic::validate_topic(&topic).is_ok());
        prop_assert!(topic::matches(&topic, &topic));
        let at = at % tokens.len();
        let mut star = tokens.clone();
        star[at] = "*".into();
        prop_assert!(topic::matches(&star.join("."), &topic));
        let rest = format!("{}.>", tokens[..at].join("."));
        if at > 0 {
            prop_assert!(topic::matches(&rest, &topic) == (tokens.len() > at));
        }
        // One token more or less never matches a pattern without `>`.
        let longer = format!("{}.x", topic);
        prop_assert!(!topic::matches(&topic, &longer));
        if tokens.len() > 1 {
            prop_assert!(!topic::matches(&topic, &tokens[..tokens.len() - 1].join(".")));
        }
    }

    #[test]
    fn topic_validation_and_matching_never_panic(pattern in "[a-z.*>]{0,20}", topic in "[a-z.]{0,20}") {
        if topic::validate_pattern(&pattern).is_ok() && topic::validate_topic(&topic).is_ok() {
            let _ = topic::matches(&pattern, &topic);
        }
    }

    #[test]
    fn the_package_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = Package::read(&bytes);
    }

    /// Flipping any byte of a signed package never yields other contents that verify.
    #[test]
    fn no_single_byte_change_forges_a_package(position in any::<proptest::sample::Index>(), flip in 1u8..=255) {
        let key = SigningKey::from_bytes(&[5; 32]);
        let manifest = "[plugin]\nid = \"com.example.p\"\nversion = \"1.0.0\"\npublisher = \"example\"\napi = \"0.2\"\n";
        let component = hearth_test_components::read(hearth_test_components::NOOP_PLUGIN);
        let original = Package::build(manifest, &component, Some(&key)).unwrap();
        let mut changed = original.clone();
        let at = position.index(changed.len());
        changed[at] ^= flip;
        if let Ok(package) = Package::read(&changed) {
            let verified = package.verify(Some(&[key.verifying_key()]));
            let same = package.manifest_text == manifest && package.component == component;
            prop_assert!(same || matches!(verified, Err(PackageError::BadSignature) | Err(PackageError::UntrustedKey { .. }) | Err(PackageError::Malformed(_))),
                "byte {} changed the contents and still verified", at);
        }
    }
}

/// The WIT files and the crates declare the same versions of `hearth:plugin`: the
/// newest in `wit/`, every older supported one frozen in `wit/vX.Y/`.
#[test]
fn the_wit_files_declare_the_versions_the_crates_speak() {
    let wit = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let newest = hearth_package::api_version!();
    assert_eq!(hearth_package::SUPPORTED_APIS.last(), Some(&newest));
    for api in hearth_package::SUPPORTED_APIS {
        let folder = if *api == newest { wit.clone() } else { wit.join(format!("v{api}")) };
        let declaration = format!("package hearth:plugin@{api}.0;");
        for file in ["types.wit", "capabilities.wit"] {
            let text = std::fs::read_to_string(folder.join(file)).unwrap();
            assert!(text.contains(&declaration), "{}/{file} does not declare {declaration}", folder.display());
        }
    }
}
