//! Request messages of any RPC, generated from the contracts' descriptors:
//! every field may be set to a hostile value of its type (huge, empty,
//! control characters, SQL and LIKE metacharacters, extreme numbers,
//! unknown enum values, garbage page tokens), nested messages down to a
//! depth, repeated fields with a few elements.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use concord_proto::policy_table::MethodInfo;
use proptest::prelude::*;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value,
};

/// Every contract's descriptors.
pub fn pool() -> DescriptorPool {
    DescriptorPool::decode(concord_proto::FILE_DESCRIPTOR_SET).expect("descriptor set")
}

/// The request message type of `method`.
pub fn input(pool: &DescriptorPool, method: &MethodInfo) -> MessageDescriptor {
    method_descriptor(pool, method).input()
}

/// The response message type of `method`.
pub fn output(pool: &DescriptorPool, method: &MethodInfo) -> MessageDescriptor {
    method_descriptor(pool, method).output()
}

fn method_descriptor(
    pool: &DescriptorPool,
    method: &MethodInfo,
) -> prost_reflect::MethodDescriptor {
    pool.get_service_by_name(method.service)
        .and_then(|s| s.methods().find(|m| m.name() == method.method))
        .unwrap_or_else(|| panic!("{} is not in the descriptors", method.path))
}

/// Strings a careless server trips on: SQL and LIKE metacharacters, quotes,
/// control characters, NUL, bidirectional overrides, emoji and Chinese,
/// path and template injections, numbers as text.
pub const HOSTILE: &[&str] = &[
    "",
    " ",
    "'",
    "\"",
    "' OR '1'='1",
    "'; DROP TABLE kit_audit; --",
    "\\'; SELECT pg_sleep(10); --",
    "%",
    "_",
    "%_%",
    "\\",
    "\\%",
    "*",
    "\u{0}",
    "a\u{0}b",
    "\u{1}\u{7}\u{8}\u{1b}[31m\u{7f}",
    "\r\n\t",
    "\u{202e}gnp.exe",
    "😀👨‍👩‍👧‍👦",
    "办公室' OR 1=1 --",
    "财务处%",
    "../../../etc/passwd",
    "${jndi:ldap://127.0.0.1/x}",
    "<script>alert(1)</script>",
    "NaN",
    "-1",
    "9223372036854775808",
    "00000000-0000-0000-0000-000000000000",
    "0196a0b0-0000-7000-8000-000000000000",
];

/// Page tokens no list ever returned: garbage, empty JSON, a deeply nested
/// one, a huge one, one bound to another filter.
pub fn garbage_page_tokens() -> Vec<String> {
    let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s.as_bytes());
    vec![
        "garbage!".into(),
        "====".into(),
        b64("{}"),
        b64("null"),
        b64(r#"{"k":1,"f":[]}"#),
        b64(r#"{"k":"x","f":"0000000000000000"}"#),
        b64(&format!("{}{}", "[".repeat(10_000), "]".repeat(10_000))),
        b64(&format!(r#"{{"k":"{}","f":"x"}}"#, "z".repeat(200_000))),
        "A".repeat(300_000),
    ]
}

/// A string for `field`: mostly hostile or arbitrary, sometimes huge.
fn string(field: &FieldDescriptor, tokens: &[String]) -> BoxedStrategy<String> {
    let hostile = proptest::sample::select(HOSTILE.to_vec()).prop_map(str::to_string);
    let huge = prop_oneof![
        (1usize..3).prop_map(|n| "长".repeat(n * 40_000)),
        Just("x".repeat(1_000_000)),
    ];
    let ids = "[0-9a-f]{4}".prop_map(|s| format!("0196a0b0-{s}-7000-8000-000000000000"));
    if field.name().ends_with("page_token") {
        let tokens = proptest::sample::select(tokens.to_vec());
        return prop_oneof![4 => tokens, 1 => hostile, 1 => any::<String>()].boxed();
    }
    prop_oneof![
        4 => hostile,
        3 => any::<String>(),
        1 => ids,
        1 => huge,
    ]
    .boxed()
}

fn scalar(field: &FieldDescriptor, tokens: &[String], depth: u32) -> Option<BoxedStrategy<Value>> {
    Some(match field.kind() {
        Kind::String => string(field, tokens).prop_map(Value::String).boxed(),
        Kind::Bytes => proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| Value::Bytes(b.into()))
            .boxed(),
        Kind::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => prop_oneof![
            Just(0),
            Just(-1),
            Just(1),
            Just(i32::MIN),
            Just(i32::MAX),
            any::<i32>()
        ]
        .prop_map(Value::I32)
        .boxed(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => prop_oneof![
            Just(0),
            Just(-1),
            Just(i64::MIN),
            Just(i64::MAX),
            Just(253_402_300_800), // year 10000
            any::<i64>()
        ]
        .prop_map(Value::I64)
        .boxed(),
        Kind::Uint32 | Kind::Fixed32 => any::<u32>().prop_map(Value::U32).boxed(),
        Kind::Uint64 | Kind::Fixed64 => any::<u64>().prop_map(Value::U64).boxed(),
        Kind::Float => any::<f32>().prop_map(Value::F32).boxed(),
        Kind::Double => prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-0.0),
            any::<f64>()
        ]
        .prop_map(Value::F64)
        .boxed(),
        Kind::Enum(e) => {
            let known: Vec<i32> = e.values().map(|v| v.number()).collect();
            prop_oneof![
                3 => proptest::sample::select(known),
                1 => prop_oneof![Just(-1), Just(99), any::<i32>()],
            ]
            .prop_map(Value::EnumNumber)
            .boxed()
        }
        Kind::Message(m) => {
            if depth == 0 {
                return None;
            }
            message(m, tokens, depth - 1)
                .prop_map(Value::Message)
                .boxed()
        }
    })
}

/// A value for `field`, or none (left unset).
fn field(
    field: FieldDescriptor,
    tokens: &[String],
    depth: u32,
) -> BoxedStrategy<Option<(FieldDescriptor, Value)>> {
    let Some(one) = scalar(&field, tokens, depth) else {
        return Just(None).boxed();
    };
    let value = if field.is_list() {
        prop_oneof![
            4 => proptest::collection::vec(one.clone(), 0..4),
            1 => proptest::collection::vec(one, 50..200),
        ]
        .prop_map(Value::List)
        .boxed()
    } else if field.is_map() {
        return Just(None).boxed();
    } else {
        one
    };
    proptest::option::weighted(0.7, value)
        .prop_map(move |v| v.map(|v| (field.clone(), v)))
        .boxed()
}

/// A message of type `desc` with any of its fields set.
pub fn message(
    desc: MessageDescriptor,
    tokens: &[String],
    depth: u32,
) -> BoxedStrategy<DynamicMessage> {
    let fields: Vec<_> = desc.fields().map(|f| field(f, tokens, depth)).collect();
    fields
        .prop_map(move |values| {
            let mut m = DynamicMessage::new(desc.clone());
            for (f, v) in values.into_iter().flatten() {
                m.set_field(&f, v);
            }
            m
        })
        .boxed()
}
